"""What a viewer needs to know about a study, kept once: Qt-free models fed by engine events.

The studies' counterpart of :mod:`workbench.session`: :class:`SweepSession` follows a
learning-rate sweep, :class:`CrossValidationSession` a cross-validation (its folds' curves, the
study's ETA, the summary), :class:`SearchSession` a search (its trials' rows, the running trial's
curves, the optimisation history, the best trial). The window's study views only connect to
their signals; the arithmetic (pace, wall time) lives here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from workbench.engine import events as ev
from workbench.session import Signal


@dataclass(frozen=True)
class Pace:
    """How fast the last run trained: seconds per image per epoch (training and validation),
    for the model and image size it had (another model or size trains at another pace)."""

    seconds_per_image: float
    model: str
    image_size: int

    @classmethod
    def of_run(cls, start: ev.RunStart, history: list[dict], image_size: int) -> Pace | None:
        seconds = [row["seconds"] for row in history[len(start.history):] if row.get("seconds")]
        images = start.n_train + start.n_val
        if not seconds or not images:
            return None
        return cls(sum(seconds) / len(seconds) / images, start.model, image_size)

    def study_seconds(self, images: int, folds: int, epochs: int) -> float:
        """A study's wall time: every fold trains and scores all ``images`` once per epoch (its
        share of them as training images, the rest as validation images)."""
        return self.seconds_per_image * images * epochs * folds


class SweepSession:
    """A learning-rate sweep as it runs: each batch's (rate, loss), then the result."""

    def __init__(self) -> None:
        self.point = Signal()  # (lr, loss) of one batch
        self.finished = Signal()  # (LRFindResult)
        self.failed = Signal()  # (Error)
        self.begin()

    def begin(self) -> None:
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.result = None
        self.error: ev.Error | None = None

    def handle(self, event: ev.Event) -> None:
        if isinstance(event, ev.BatchEnd):
            self.lrs.append(event.lr)
            self.losses.append(event.loss)
            self.point.emit(event.lr, event.loss)
        elif isinstance(event, ev.LRFindEnd):
            from workbench.studies.lr_find import LRFindResult

            self.result = LRFindResult(**event.result)
            self.finished.emit(self.result)
        elif isinstance(event, ev.Error):
            self.error = event
            self.failed.emit(event)


class CrossValidationSession:
    """A cross-validation as its events tell it: the finished folds' histories, the current fold's
    epochs so far, the study's ETA and, at the end, its summary. Events outside a study (an ordinary
    run of the window) are ignored: :meth:`begin` opens a study, its end or failure closes it."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.clock = clock
        self.started = Signal()  # () a study is starting: clear the view
        self.fold_started = Signal()  # (FoldStart)
        self.fold_epoch = Signal()  # (fold, history so far)
        self.fold_ended = Signal()  # (fold, history)
        self.finished = Signal()  # (summary)
        self.failed = Signal()  # (Error)
        self.running = False
        self._clear(0, 0)

    def _clear(self, folds: int, epochs: int) -> None:
        self.folds, self.epochs = folds, epochs
        self.fold = 0
        self.histories: dict[int, list[dict]] = {}  # fold → epochs (finished folds and the current)
        self.finished_folds: list[int] = []  # folds that trained their whole budget
        self.epoch_seconds: list[float] = []  # this session's epochs: the ETA's pace
        self.summary: dict | None = None
        self.error: ev.Error | None = None
        self.out: str | None = None

    def begin(self, folds: int, epochs: int, out: str) -> None:
        self._clear(folds, epochs)
        self.out = out
        self.running = True
        self.started.emit()

    def eta(self) -> float | None:
        """Seconds left at this study's pace so far: None before its first epoch and after its end."""
        if not self.running or not self.epoch_seconds or not self.fold:
            return None
        left = (self.folds - self.fold) * self.epochs + self.epochs - len(self.histories.get(self.fold, []))
        return max(left, 0) * sum(self.epoch_seconds) / len(self.epoch_seconds)

    def handle(self, event: ev.Event) -> None:
        if not self.running:
            return
        if isinstance(event, ev.FoldStart):
            self.fold, self.folds = event.fold, event.folds
            self.histories[event.fold] = []
            self.fold_started.emit(event)
        elif isinstance(event, ev.RunStart):
            self.epochs = event.epochs
            self.histories[self.fold] = [dict(row) for row in event.history]  # a resumed fold
        elif isinstance(event, ev.EpochEnd) and self.fold:
            self.histories[self.fold].append(event.data)
            self.epoch_seconds.append(event.seconds)
            self.fold_epoch.emit(self.fold, self.histories[self.fold])
        elif isinstance(event, ev.FoldEnd):
            self.histories[event.fold] = list(event.history)
            if event.status == "finished":
                self.finished_folds.append(event.fold)
            self.fold_ended.emit(event.fold, self.histories[event.fold])
        elif isinstance(event, ev.StudyEnd):
            self.running = False
            self.summary = event.summary
            self._read_folds_kept_from_before(event.summary)
            self.finished.emit(event.summary)
        elif isinstance(event, ev.Error):
            self.running = False
            self.error = event
            self.failed.emit(event)

    def _read_folds_kept_from_before(self, summary: dict) -> None:
        """A resumed study skips its finished folds without events: their curves come from disk."""
        from pathlib import Path

        from workbench.runs import RunFolder

        for entry in summary.get("fold_runs", []):
            folder = RunFolder(Path(entry["run_dir"]))
            if entry["fold"] not in self.histories and folder.metrics_path.exists():
                self.histories[entry["fold"]] = folder.read_metrics()
                if entry["status"] == "finished":
                    self.finished_folds.append(entry["fold"])


TRIAL_STATES = ("running", "complete", "pruned", "failed", "stopped")


class SearchSession:
    """A search as its events tell it: one row per trial (number, state, settings, value, epochs
    run, seconds, run folder, failure reason), each trial's epochs seen in this window, the best
    trial so far and, at the end, the summary. Events outside a search are ignored: :meth:`begin`
    opens one, its end or failure closes it."""

    def __init__(self) -> None:
        self.started = Signal()  # () a search is starting: clear the view
        self.opened = Signal()  # (SearchStart) the study is open; its earlier trials are in rows
        self.trial_started = Signal()  # (row)
        self.trial_epoch = Signal()  # (row, history so far)
        self.trial_ended = Signal()  # (row)
        self.finished = Signal()  # (summary)
        self.failed = Signal()  # (Error)
        self.running = False
        self.begin(0, 0, None, running=False)

    def begin(self, trials: int, epochs: int, out: str | None, *, running: bool = True) -> None:
        self.trials, self.epochs, self.out = trials, epochs, out
        self.trial_rows: dict[int, dict] = {}  # number → row
        self.histories: dict[int, list[dict]] = {}  # number → epochs (trials run in this window)
        self.current: int | None = None  # the trial in training
        self.monitor, self.direction = "val_loss", "minimize"
        self.config: dict | None = None  # the fixed settings
        self.storage: str | None = None
        self.epoch_seconds: list[float] = []  # this session's epochs: the ETA's pace
        self.summary: dict | None = None
        self.error: ev.Error | None = None
        self.running = running
        if running:
            self.started.emit()

    # Reading ------------------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        return [self.trial_rows[n] for n in sorted(self.trial_rows)]

    def count(self, state: str) -> int:
        return sum(1 for row in self.trial_rows.values() if row["state"] == state)

    def best(self) -> dict | None:
        """The complete trial with the best value (lowest loss, highest accuracy), or None."""
        complete = [r for r in self.trial_rows.values()
                    if r["state"] == "complete" and r["value"] is not None]
        if not complete:
            return None
        sign = -1 if self.direction == "maximize" else 1
        return min(complete, key=lambda r: (sign * r["value"], r["number"]))

    def history_points(self) -> tuple[list[int], list[float], list[float]]:
        """The optimisation history: complete trials' numbers and values, and the best value so
        far at each of them."""
        numbers, values, best = [], [], []
        pick = max if self.direction == "maximize" else min
        for row in self.rows():
            if row["state"] == "complete" and row["value"] is not None:
                numbers.append(row["number"])
                values.append(row["value"])
                best.append(pick(values))
        return numbers, values, best

    def best_config(self):
        """The best trial's full settings (the fixed ones with its drawn values), or None."""
        from workbench.config import TrainConfig
        from workbench.studies.search_space import config_for

        best = self.best()
        if best is None or self.config is None:
            return None
        return config_for(TrainConfig.from_dict(self.config), best["params"])

    def resumable(self) -> bool:
        """The last search here stopped before its trials were done: Resume continues it."""
        summary = self.summary or {}
        done = summary.get("complete", 0) + summary.get("pruned", 0)
        return bool(summary) and not self.running and done < summary.get("trials_asked", 0) \
            and summary.get("failed", 0) < 2 * summary.get("trials_asked", 0) + 3

    def eta(self) -> float | None:
        """Seconds left if every trial trains its whole budget (pruning only shortens it): None
        before the first epoch of this session and after the search's end."""
        if not self.running or not self.epoch_seconds:
            return None
        done = self.count("complete") + self.count("pruned")
        current = len(self.histories.get(self.current, [])) if self.current is not None else 0
        left = max(self.trials - done, 0) * self.epochs - current
        return max(left, 0) * sum(self.epoch_seconds) / len(self.epoch_seconds)

    # Events -------------------------------------------------------------------------------------
    def handle(self, event: ev.Event) -> None:
        if not self.running:
            return
        if isinstance(event, ev.SearchStart):
            self.out, self.trials, self.config = event.out, event.trials, event.config
            self.monitor, self.direction, self.storage = event.monitor, event.direction, event.storage
            self.epochs = int(event.config.get("epochs") or self.epochs)
            for row in event.earlier:
                self.trial_rows[row["number"]] = _trial_row(row)
            self.opened.emit(event)
        elif isinstance(event, ev.TrialStart):
            row = self.trial_rows.get(event.number) or _trial_row(event.data)
            row.update(state="running", run_dir=event.run_dir, error=None)
            self.trial_rows[event.number] = row
            self.current = event.number
            self.histories[event.number] = []
            self.trial_started.emit(row)
        elif isinstance(event, ev.RunStart) and self.current is not None:
            self.epochs = event.epochs
            self.histories[self.current] = [dict(h) for h in event.history]  # a continued trial
            row = self.trial_rows[self.current]
            row["epochs"] = len(event.history)
        elif isinstance(event, ev.EpochEnd) and self.current is not None:
            history = self.histories[self.current]
            history.append(event.data)
            self.epoch_seconds.append(event.seconds)
            row = self.trial_rows[self.current]
            row["epochs"] = len(history)
            row["seconds"] = (row.get("seconds") or 0.0) + event.seconds
            self.trial_epoch.emit(row, history)
        elif isinstance(event, ev.TrialEnd):
            row = _trial_row(event.data)
            self.trial_rows[event.number] = row
            self.current = None
            self.trial_ended.emit(row)
        elif isinstance(event, ev.StudyEnd):
            self.running = False
            self.current = None
            self.summary = event.summary
            for row in event.summary.get("trials", []):  # other workers' trials too
                self.trial_rows[row["number"]] = _trial_row(row)
            self.finished.emit(event.summary)
        elif isinstance(event, ev.Error):
            self.running = False
            self.error = event
            if self.current is not None:
                self.trial_rows[self.current].update(state="failed", error=event.message)
            self.current = None
            self.failed.emit(event)


def _trial_row(data: dict) -> dict:
    """A table row from a TrialEnd/TrialStart payload or a summary's trial (Optuna says "fail")."""
    state = {"fail": "failed"}.get(data.get("state"), data.get("state") or "running")
    return {"number": int(data["number"]), "state": state, "value": data.get("value"),
            "params": dict(data.get("params") or {}), "epochs": data.get("epochs") or 0,
            "seconds": data.get("seconds"), "run_dir": data.get("run_dir"), "error": data.get("error")}
