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
from workbench.studies.search_space import DEFAULT_SPACE, check_space, config_for, distributions, grid_of

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
SEARCH_FILE = "search.json"
SUMMARY_FILE = "search_summary.json"

class TrialPruning(Callback):
    """Reports the monitored metric after each epoch; stops the run when the pruner says so, or
    when the search is asked to stop (``stopping()``): the epoch in progress is finished first."""

    def __init__(self, trial, stopping: Callable[[], bool] = lambda: False):
        self.trial = trial
        self.stopping = stopping
        self.pruned = self.stopped = False

    def on_epoch_end(self, run, logs) -> None:
        value = logs[MONITOR_KEYS[run.config.monitor]]
        if value is not None:
            self.trial.report(float(value), logs["epoch"])
            if self.trial.should_prune():
                self.pruned = True
                run.stop("pruned", f"pruned by the search after epoch {logs['epoch']} "
                                   f"({run.config.monitor} {value:.4g} is unpromising)")
                run.log(run.stop_reason)
                return
        if self.stopping() and logs["epoch"] < run.config.epochs:
            self.stopped = True
            run.stop("stopped", f"stopped by user after epoch {logs['epoch']} (the search's resume "
                                "continues this trial)")
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
        self.events.emit(ev.SearchStart(
            out=str(self.out), trials=self.trials, monitor=self.config.monitor,
            direction=study.direction.name.lower(), config=self.config.to_dict(), storage=self.storage,
            earlier=_rows(study)))
        # Failed trials are replaced by new ones, but not without end: a space whose every draw
        # fails (a batch larger than the set) stops after 2 × trials + 3 failures.
        most_failures = 2 * self.trials + 3
        while not self._stopped:
            counts = _counts(study)
            if counts["complete"] + counts["pruned"] >= self.trials or counts["failed"] >= most_failures:
                break
            trial = self._claim_stopped_trial(study)
            if trial is None:
                if self.sampler_name == "grid" and _grid_done(study):
                    break
                trial = study.ask(distributions(self.space, grid=self.sampler_name == "grid"))
            state, value = self._run_trial(trial)
            if state == "stopped":
                continue  # left running in the study: a resume continues it from its checkpoint
            if state == "pruned":
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            elif state == "complete":
                study.tell(trial, value)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        summary = self._summarise(study)
        self.events.emit(ev.StudyEnd(summary=summary))
        return summary

    def request_stop(self) -> None:
        """Stop the search once the trial in training has finished its current epoch (it keeps
        that epoch; a resume continues the trial from there), and start no other trial."""
        self._stopped = True

    def _claim_stopped_trial(self, study):
        """A trial a stopped search left running, claimed for this worker (None if there is none)."""
        import optuna

        with _creation_lock(self.out / ".study.lock"):
            for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                if frozen.user_attrs.get("stopped"):
                    trial = optuna.trial.Trial(study, frozen._trial_id)
                    trial.set_user_attr("stopped", None)  # no other worker takes it now
                    return trial
        return None

    def _run_trial(self, trial) -> tuple[str, float | None]:
        folder = Path(trial.user_attrs.get("run_dir") or self.out / f"trial-{trial.number:04d}")
        continues = (folder / "checkpoints" / "last.pt").is_file()
        trial.set_user_attr("run_dir", str(folder))
        self._log(f"Trial {trial.number}: {json.dumps(trial.params)}"
                  + (" (continued from its last checkpoint)" if continues else ""))
        self.events.emit(ev.TrialStart(number=trial.number, params=dict(trial.params), run_dir=str(folder),
                                       continues=continues))
        started, summary = time.perf_counter(), {}
        state, value, error = "failed", None, None
        try:
            config = config_for(self.config, trial.params)
            pruning = TrialPruning(trial, stopping=lambda: self._stopped)
            self._trainer = trainer = Trainer(config, out=None if continues else folder,
                                              resume=folder if continues else None,
                                              callbacks=[pruning], data=self._decoded(config))
            trainer.subscribe(self.events.emit)
            summary = trainer.run()
        except (*USER_ERRORS, ConfigError, FileExistsError) as exc:
            # Settings this trial drew cannot train (say a batch larger than the set): the search
            # goes on, and the trial is recorded as failed with the reason.
            error = str(exc)
            self._log(f"Trial {trial.number} failed: {exc}")
        finally:
            self._trainer = None
        if summary:
            value = summary.get("best_value")
            if pruning.pruned:
                state, value = "pruned", None
            elif pruning.stopped:
                state, value = "stopped", None
                trial.set_user_attr("stopped", summary.get("stopped_epoch") or 1)
            elif summary["status"] != "finished" or value is None or not math.isfinite(value):
                state, value, error = "failed", None, summary.get("stop_reason", "")
            else:
                state, value = "complete", float(value)
                self._log(f"Trial {trial.number}: {self.config.monitor} {value:.4g}")
        epochs = int(summary.get("stopped_epoch") or 0)
        seconds = float(summary.get("total_seconds") or time.perf_counter() - started)
        trial.set_user_attr("epochs", epochs)
        trial.set_user_attr("seconds", seconds)
        if error is not None:
            trial.set_user_attr("error", error)
        self.events.emit(ev.TrialEnd(number=trial.number, state=state, value=value, params=dict(trial.params),
                                     run_dir=str(folder), epochs=epochs, seconds=seconds, error=error))
        return state, value

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
        rows = _rows(study)
        summary = {"monitor": self.config.monitor, "direction": study.direction.name.lower(),
                   "trials_asked": self.trials, "sampler": self.sampler_name, "pruner": self.pruner_name,
                   "storage": self.storage, **_counts(study), "trials": rows, "best": None}
        if summary["complete"]:
            best = study.best_trial
            summary["best"] = {"number": best.number, "value": best.value, "params": best.params,
                               "run_dir": best.user_attrs.get("run_dir")}
            self._log(describe(summary))
        atomic_write_text(self.out / SUMMARY_FILE, json.dumps(summary, indent=2, default=str) + "\n")
        return summary



def describe(summary: dict) -> str:
    best = summary.get("best")
    counts = f"{summary['complete']} complete, {summary['pruned']} pruned, {summary['failed']} failed"
    if not best:
        return f"No trial completed yet ({counts})."
    params = ", ".join(f"{k}={_short(v)}" for k, v in best["params"].items())
    return f"Best trial {best['number']}: {summary['monitor']} {best['value']:.4g} with {params} ({counts})."


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _rows(study) -> list[dict]:
    """Every trial of the study as plain values: number, state (complete, pruned, fail, stopped
    or running), value, params, run folder, epochs trained, training seconds and any error."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        state = t.state.name.lower()
        if state == "running" and t.user_attrs.get("stopped"):
            state = "stopped"
        rows.append({"number": t.number, "state": state, "value": t.value, "params": t.params,
                     "run_dir": t.user_attrs.get("run_dir"), "error": t.user_attrs.get("error"),
                     "epochs": t.user_attrs.get("epochs"), "seconds": t.user_attrs.get("seconds")})
    return rows


def param_importances(storage: str) -> dict[str, float]:
    """How much each searched setting explains the objective (Optuna's fANOVA over the complete
    trials; it needs two), most important first. Reads the study, so call it off the GUI thread."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="workbench", storage=_storage(storage))
    return dict(optuna.importance.get_param_importances(study))


def _counts(study) -> dict[str, int]:
    """Complete, pruned and failed trials (complete and pruned count towards the number asked;
    failed ones are replaced)."""
    import optuna

    states = {"complete": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED,
              "failed": optuna.trial.TrialState.FAIL}
    trials = study.get_trials(deepcopy=False)
    return {name: sum(1 for t in trials if t.state == state) for name, state in states.items()}


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
