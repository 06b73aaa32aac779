"""A search over settings with Optuna: samplers, pruning, a resumable study, many workers.

``STUDY/`` holds ``search.json`` (the fixed settings, the search space, sampler, pruner, storage
and the number of trials asked), ``study.db`` (the Optuna study, SQLite, unless ``--storage``
names another Optuna storage), one ordinary run folder per trial (``trial-0000/`` …, its
``config.json`` re-runs it exactly) and ``search_summary.json``.

Every trial reports its monitored metric after each epoch (:class:`TrialPruning`, a callback);
a pruned trial stops at once, keeps its run folder and is marked ``pruned``. The objective is the
monitored metric of the trial's best epoch.

**Storage.** SQLite (Optuna's RDB storage) is the default: one file, readable with any SQLite
tool, and it takes several worker processes on one machine, since SQLite locks the file for each
write; the connection waits up to 60 s for the lock instead of failing at once. For many workers
or several machines use an RDB server (``--storage postgresql://…``) or Optuna's journal file
(``--storage journal:PATH``), which Optuna recommends where SQLite's locking is not enough (a
network file system).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.config import ConfigError, TrainConfig
from workbench.engine import events as ev
from workbench.engine.callbacks import Callback
from workbench.engine.callbacks.best import MONITOR_KEYS
from workbench.engine.trainer import USER_ERRORS, Trainer, TrainingError
from workbench.runs import atomic_write_text
from workbench.studies.base import TrainerStudy

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
SEARCH_FILE = "search.json"
SUMMARY_FILE = "search_summary.json"

# What is searched when no space is given: the settings that matter most for image classifiers.
DEFAULT_SPACE: dict[str, dict] = {
    "lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    "batch_size": {"type": "categorical", "choices": [16, 32, 64]},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
    "optimizer": {"type": "categorical", "choices": ["sgd", "adam", "adamw"]},
    "label_smoothing": {"type": "float", "low": 0.0, "high": 0.2},
    "augment_strength": {"type": "float", "low": 0.0, "high": 2.0},
}
# Augmentation ranges scaled by "augment_strength" (1 = the configured ones).
_SCALED_AUGMENTS = ("rotation_range", "width_shift_range", "height_shift_range", "shear_range",
                    "zoom_range", "brightness", "contrast", "saturation", "hue")


def load_space(path: str | Path | None) -> dict[str, dict]:
    """A search space from a JSON or YAML file (``{setting: spec}``), checked; the default without one."""
    if path is None:
        return copy.deepcopy(DEFAULT_SPACE)
    text = Path(path).read_text(encoding="utf-8")
    try:
        if str(path).endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 — any parse error is the file's fault
        raise ConfigError([f"search space {path} cannot be read: {exc}"]) from exc
    return check_space(data)


def check_space(space: Any) -> dict[str, dict]:
    """Refuse a space naming unknown settings or malformed ranges, with every reason."""
    if not isinstance(space, dict) or not space:
        raise ConfigError(["a search space is a non-empty object of {setting: spec}"])
    known = {f.name for f in dataclasses.fields(TrainConfig)} | {"augment_strength"}
    problems = []
    for name, spec in space.items():
        if name not in known:
            problems.append(f"search space: unknown setting {name!r}")
            continue
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind in ("float", "int"):
            low, high = spec.get("low"), spec.get("high")
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) \
                    or not low < high or (spec.get("log") and low <= 0):
                problems.append(f"search space: {name} needs numbers low < high (> 0 on a log scale)")
        elif kind == "categorical":
            if not isinstance(spec.get("choices"), list) or not spec["choices"]:
                problems.append(f"search space: {name} needs a non-empty list of choices")
        else:
            problems.append(f"search space: {name} needs type float, int or categorical")
    if problems:
        raise ConfigError(problems)
    return space


def grid_of(space: dict[str, dict]) -> dict[str, list]:
    """Grid search takes explicit values: categorical choices, or a spec's ``values`` list."""
    grid = {}
    for name, spec in space.items():
        values = spec.get("values") or spec.get("choices")
        if not values:
            raise ConfigError([f"grid search needs explicit values for {name} (\"values\": [...])"])
        grid[name] = list(values)
    return grid


def config_for(base: TrainConfig, params: dict[str, Any]) -> TrainConfig:
    """The trial's settings: the fixed ones with the sampled ones applied, validated."""
    config = copy.deepcopy(base)
    for name, value in params.items():
        if name == "augment_strength":
            for field in _SCALED_AUGMENTS:
                setattr(config.augment, field, getattr(base.augment, field) * value)
            config.augment.hue = min(config.augment.hue, 0.5)
            for field in ("width_shift_range", "height_shift_range", "zoom_range", "brightness",
                          "contrast", "saturation"):
                setattr(config.augment, field, min(getattr(config.augment, field), 0.95))
            config.augment.rotation_range = min(config.augment.rotation_range, 180)
            config.augment.shear_range = min(config.augment.shear_range, 89)
        else:
            setattr(config, name, value)
    return config.validate()


class TrialPruning(Callback):
    """Reports the monitored metric after each epoch; stops the run when the pruner says so."""

    def __init__(self, trial):
        self.trial = trial
        self.pruned = False

    def on_epoch_end(self, run, logs) -> None:
        value = logs[MONITOR_KEYS[run.config.monitor]]
        if value is None:
            return
        self.trial.report(float(value), logs["epoch"])
        if self.trial.should_prune():
            self.pruned = True
            run.stop("pruned", f"pruned by the search after epoch {logs['epoch']} "
                               f"({run.config.monitor} {value:.4g} is unpromising)")
            run.log(run.stop_reason)


class Search(TrainerStudy):
    """One search study; ``run()`` adds trials until ``trials`` are complete or pruned."""

    def __init__(self, config: TrainConfig | None, out: str | Path, trials: int = 20, *,
                 sampler: str = "tpe", pruner: str = "median", space: dict | None = None,
                 storage: str | None = None, resume: bool = False):
        super().__init__()
        self.out = Path(out)
        if resume:
            saved = _read_search(self.out)
            config = TrainConfig.from_dict(saved["config"])
            trials, sampler, pruner = saved["trials"], saved["sampler"], saved["pruner"]
            space, storage = saved["space"], storage or saved["storage"]
        if sampler not in SAMPLERS or pruner not in PRUNERS:
            raise ConfigError([f"sampler must be one of {', '.join(SAMPLERS)} and pruner one of "
                               f"{', '.join(PRUNERS)}"])
        if not 1 <= trials <= 100_000:
            raise ConfigError([f"trials must be between 1 and 100000, got {trials}"])
        self.config = config.validate()
        self.space = check_space(space if space is not None else copy.deepcopy(DEFAULT_SPACE))
        self.trials, self.sampler_name, self.pruner_name = trials, sampler, pruner
        self.storage = storage or f"sqlite:///{(self.out / 'study.db').resolve()}"
        self._shared: dict[tuple, object] = {}  # decoded images by (folder, size, split)

    def _study(self):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        maximise = self.config.monitor == "val_accuracy"
        # Each worker on the study draws its own settings: the same seed in two processes would
        # draw the same values twice. One process alone (worker 0) is reproducible.
        seed = self.config.seed + 1000 * self._worker_number()
        sampler = {"tpe": lambda: optuna.samplers.TPESampler(seed=seed),
                   "random": lambda: optuna.samplers.RandomSampler(seed=seed),
                   "grid": lambda: optuna.samplers.GridSampler(grid_of(self.space), seed=seed)}
        # Two workers starting at once both create the storage's tables ("table studies already
        # exists"): workers sharing the study folder take turns, and a race with another machine
        # is retried once it has made them.
        for attempt in range(5):
            try:
                with _creation_lock(self.out / ".study.lock"):
                    return optuna.create_study(
                        study_name="workbench", storage=_storage(self.storage),
                        sampler=sampler[self.sampler_name](), pruner=self._pruner(),
                        direction="maximize" if maximise else "minimize", load_if_exists=True)
            except Exception as exc:  # noqa: BLE001 — SQLAlchemy's error types vary by backend
                if "already exists" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.5 + random.random())

    def _worker_number(self) -> int:
        """How many workers started on this study folder before this one (0 for the first)."""
        counter = self.out / ".workers"
        with _creation_lock(self.out / ".study.lock"):
            try:
                n = int(counter.read_text())
            except (OSError, ValueError):
                n = 0
            counter.write_text(str(n + 1))
        return n

    def _pruner(self):
        import optuna

        if self.pruner_name == "median":  # prune below the median of earlier trials at an epoch
            return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
        if self.pruner_name == "hyperband":
            return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=self.config.epochs)
        return optuna.pruners.NopPruner()

    def run(self) -> dict:
        import optuna

        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out / SEARCH_FILE, json.dumps(
            {"config": self.config.to_dict(), "trials": self.trials, "sampler": self.sampler_name,
             "pruner": self.pruner_name, "space": self.space, "storage": self.storage}, indent=2) + "\n")
        study = self._study()
        # Failed trials are replaced by new ones, but not without end: a space whose every draw
        # fails (a batch larger than the set) stops after 2 × trials + 3 failures.
        most_failures = 2 * self.trials + 3
        while not self._stopped and _settled(study) < self.trials and _failed(study) < most_failures:
            if self.sampler_name == "grid" and _grid_done(study):
                break
            trial = study.ask(self._distributions())
            state, value = self._run_trial(trial)
            if state == "pruned":
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            elif state == "complete":
                study.tell(trial, value)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        summary = self._summarise(study)
        self.events.emit(ev.StudyEnd(summary=summary))
        return summary

    def _distributions(self) -> dict:
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out = {}
        for name, spec in self.space.items():
            values = spec.get("values")
            if spec["type"] == "categorical" or (self.sampler_name == "grid" and values):
                out[name] = CategoricalDistribution(values or spec["choices"])
            elif spec["type"] == "int":
                out[name] = IntDistribution(int(spec["low"]), int(spec["high"]), log=bool(spec.get("log")))
            else:
                out[name] = FloatDistribution(float(spec["low"]), float(spec["high"]),
                                              log=bool(spec.get("log")))
        return out

    def _run_trial(self, trial) -> tuple[str, float | None]:
        folder = self.out / f"trial-{trial.number:04d}"
        trial.set_user_attr("run_dir", str(folder))
        self._log(f"Trial {trial.number}: {json.dumps(trial.params)}")
        try:
            config = config_for(self.config, trial.params)
            pruning = TrialPruning(trial)
            self._trainer = trainer = Trainer(config, out=folder, callbacks=[pruning],
                                              data=self._decoded(config))
            trainer.subscribe(self.events.emit)
            if self._stopped:
                trainer.request_stop()
            summary = trainer.run()
        except (*USER_ERRORS, ConfigError, FileExistsError) as exc:
            # Settings this trial drew cannot train (say a batch larger than the set): the search
            # goes on, and the trial is recorded as failed with the reason.
            trial.set_user_attr("error", str(exc))
            self._log(f"Trial {trial.number} failed: {exc}")
            return "failed", None
        finally:
            self._trainer = None
        if pruning.pruned:
            return "pruned", None
        value = summary.get("best_value")
        if summary["status"] != "finished" or value is None or not math.isfinite(value):
            trial.set_user_attr("error", summary.get("stop_reason", ""))
            return "failed", None
        self._log(f"Trial {trial.number}: {self.config.monitor} {value:.4g}")
        return "complete", float(value)

    def _decoded(self, config: TrainConfig):
        """The trial's images, decoded once per image size (and split) and shared by every trial
        drawing the same; None (the trial decodes its own) when they do not fit the cache budget."""
        from workbench.data.prepare import prepare_data

        key = (config.data_dir, config.image_size, config.val_fraction, config.test_fraction,
               config.seed, config.max_image_megapixels, config.cache_budget_mb)
        if key not in self._shared:
            data = prepare_data(config, log=self._log)
            self._shared[key] = None if data.train.streaming else data
        return self._shared[key]

    def _summarise(self, study) -> dict:
        import optuna

        states = {"complete": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED,
                  "failed": optuna.trial.TrialState.FAIL}
        trials = study.get_trials(deepcopy=False)
        rows = [{"number": t.number, "state": t.state.name.lower(), "value": t.value, "params": t.params,
                 "run_dir": t.user_attrs.get("run_dir"), "error": t.user_attrs.get("error")} for t in trials]
        summary = {"monitor": self.config.monitor, "direction": study.direction.name.lower(),
                   "trials_asked": self.trials, "sampler": self.sampler_name, "pruner": self.pruner_name,
                   "storage": self.storage, "complete": self._count(trials, states["complete"]),
                   "pruned": self._count(trials, states["pruned"]),
                   "failed": self._count(trials, states["failed"]), "trials": rows, "best": None}
        if summary["complete"]:
            best = study.best_trial
            summary["best"] = {"number": best.number, "value": best.value, "params": best.params,
                               "run_dir": best.user_attrs.get("run_dir")}
            self._log(describe(summary))
        atomic_write_text(self.out / SUMMARY_FILE, json.dumps(summary, indent=2, default=str) + "\n")
        return summary

    @staticmethod
    def _count(trials, state) -> int:
        return sum(1 for t in trials if t.state == state)



def describe(summary: dict) -> str:
    best = summary.get("best")
    counts = f"{summary['complete']} complete, {summary['pruned']} pruned, {summary['failed']} failed"
    if not best:
        return f"No trial completed yet ({counts})."
    params = ", ".join(f"{k}={_short(v)}" for k, v in best["params"].items())
    return f"Best trial {best['number']}: {summary['monitor']} {best['value']:.4g} with {params} ({counts})."


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _settled(study) -> int:
    """Trials that count towards the number asked: complete or pruned (failed ones are retried)."""
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state in done)


def _failed(study) -> int:
    import optuna

    return sum(1 for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.FAIL)


def _grid_done(study) -> bool:
    sampler = study.sampler
    return hasattr(sampler, "is_exhausted") and sampler.is_exhausted(study)


@contextlib.contextmanager
def _creation_lock(path: Path):
    """An OS lock on ``path`` (released when the process ends, however it ends)."""
    try:
        import fcntl
    except ImportError:  # Windows: the retry above has to do
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _storage(url: str):
    """Optuna's storage for ``url``: ``journal:PATH`` is a journal file; SQLite waits for locks."""
    import optuna

    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url[len("journal:"):]))
    if url.startswith("sqlite:"):
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    return url


def _read_search(out: Path) -> dict:
    try:
        data = json.loads((out / SEARCH_FILE).read_text(encoding="utf-8"))
        missing = [k for k in ("config", "trials", "sampler", "pruner", "space", "storage") if k not in data]
        if missing:
            raise KeyError(", ".join(missing))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrainingError(f"{out} is not a search study folder (no readable {SEARCH_FILE}).") from exc
    return data


def search(config: TrainConfig, out: str | Path, trials: int = 20, *, subscribe: Callable | None = None,
           **options) -> dict:
    """Run (or, with ``resume=True``, continue) a search and return its summary."""
    study = Search(config, out, trials, **options)
    if subscribe is not None:
        study.subscribe(subscribe)
    return study.run()
