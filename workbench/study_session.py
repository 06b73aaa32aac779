"""What a viewer needs to know about a study, kept once: Qt-free models fed by engine events.

The studies' counterpart of :mod:`workbench.session`: :class:`SweepSession` follows a
learning-rate sweep, :class:`CrossValidationSession` a cross-validation (its folds' curves, the
study's ETA, the summary). The window's study views only connect to their signals; the arithmetic
(pace, wall time) lives here.
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
