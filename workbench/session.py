"""What a viewer needs to know about a run, kept once: a Qt-free model fed by engine events.

napari's split: this is the plain-Python model, the views (the command line's progress printer,
the window's progress panel and plots) only connect to its signals and read its attributes. The
iteration arithmetic, the ETA and the best / early-stop epochs are worked out here and nowhere else.

``session.handle(event)`` must be called on one thread (the window calls it on the GUI thread,
where the worker's events arrive; the command line on the training thread).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from workbench.engine import events as ev


class Signal:
    """A minimal observer: ``connect(fn)``, ``emit(*args)`` calls every connected ``fn`` in order."""

    def __init__(self) -> None:
        self._slots: list[Callable[..., Any]] = []

    def connect(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        self._slots.append(fn)
        return fn

    def disconnect(self, fn: Callable[..., Any]) -> None:
        self._slots.remove(fn)

    def emit(self, *args: Any) -> None:
        for fn in list(self._slots):
            fn(*args)


class SessionSignals:
    """One signal per thing a view may redraw; the arguments are the events themselves."""

    def __init__(self) -> None:
        self.reset = Signal()  # () a new run is about to start: clear the views
        self.started = Signal()  # (RunStart)
        self.cache_progress = Signal()  # (CacheProgress)
        self.epoch_started = Signal()  # (EpochStart)
        self.batch = Signal()  # (global_iteration, BatchEnd)
        self.epoch = Signal()  # (EpochEnd)
        self.best = Signal()  # (best_epoch: int)
        self.early_stop = Signal()  # (EarlyStop)
        self.checkpoint = Signal()  # (CheckpointSaved)
        self.log = Signal()  # (message: str)
        self.finished = Signal()  # (summary: dict)
        self.failed = Signal()  # (Error)


def format_duration(seconds: float | None) -> str:
    """``H:MM:SS``; "–" when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def epoch_line(e: ev.EpochEnd) -> str:
    """The one line an epoch gets in a log (the terminal's and the window's)."""
    val = ("no validation" if e.val_loss is None
           else f"val loss {e.val_loss:.4f} acc {e.val_acc:.1%}")
    return (f"Epoch {e.epoch}/{e.epochs}: train loss {e.train_loss:.4f} acc {e.train_acc:.1%} | "
            f"{val} | lr {e.lr:.2e} | {e.images_per_sec:.0f} img/s | {e.seconds:.1f}s")


class TrainingSession:
    """The state of the current (or last) run as its events tell it."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.clock = clock
        self.signals = SessionSignals()
        self._clear()

    def _clear(self) -> None:
        self.start: ev.RunStart | None = None
        self.history: list[dict] = []  # every epoch's metrics, including those before a resume
        self.last_batch: ev.BatchEnd | None = None
        self.global_iteration = 0  # optimizer steps since the run's first epoch
        self.iterations_done = 0  # steps in this session (the ETA's pace)
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None  # where early stopping ended the run
        self.early_stop_reason = ""
        self.checkpoints: dict[str, str] = {}  # "best"/"last" → path, once on disk
        self.summary: dict | None = None
        self.error: ev.Error | None = None
        self.running = False
        self.started_at: float | None = None
        self.ended_at: float | None = None

    def reset(self) -> None:
        """Forget the previous run (a new one is starting)."""
        self._clear()
        self.signals.reset.emit()

    # Derived values ----------------------------------------------------------------------------
    @property
    def epochs(self) -> int:
        return self.start.epochs if self.start else 0

    @property
    def iterations_per_epoch(self) -> int:
        return self.start.iterations_per_epoch if self.start else 0

    @property
    def run_dir(self) -> str | None:
        return self.start.run_dir if self.start else None

    @property
    def iterations_left(self) -> int:
        if self.start is None:
            return 0
        total = (self.epochs - self.start.start_epoch + 1) * self.iterations_per_epoch
        return max(total - self.iterations_done, 0)

    def elapsed(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at if self.ended_at is not None else self.clock()) - self.started_at

    def eta(self) -> float | None:
        """Seconds left at the pace of this session's steps so far; None before the first step and
        once the run has ended (however it ended)."""
        if not self.running or self.iterations_done == 0:
            return None
        return self.elapsed() / self.iterations_done * self.iterations_left

    # Events --------------------------------------------------------------------------------------
    def handle(self, event: ev.Event) -> None:
        handler = self._HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _on_run_start(self, e: ev.RunStart) -> None:
        self.start = e
        self.running = True
        self.started_at, self.ended_at = self.clock(), None
        self.history = [dict(m) for m in e.history]
        self.global_iteration = (e.start_epoch - 1) * e.iterations_per_epoch
        self.signals.started.emit(e)

    def _on_batch(self, e: ev.BatchEnd) -> None:
        self.last_batch = e
        self.global_iteration += 1
        self.iterations_done += 1
        self.signals.batch.emit(self.global_iteration, e)

    def _on_epoch_end(self, e: ev.EpochEnd) -> None:
        self.history.append({k: v for k, v in e.data.items() if k not in ("best_epoch", "epochs")})
        self.signals.epoch.emit(e)
        self._set_best(e.best_epoch)

    def _set_best(self, epoch: int | None) -> None:
        if epoch and epoch != self.best_epoch:
            self.best_epoch = epoch
            self.signals.best.emit(epoch)

    def _on_early_stop(self, e: ev.EarlyStop) -> None:
        self.stopped_epoch, self.early_stop_reason = e.epoch, e.reason
        self.signals.early_stop.emit(e)

    def _on_checkpoint(self, e: ev.CheckpointSaved) -> None:
        self.checkpoints[e.which] = e.path
        self.signals.checkpoint.emit(e)

    def _on_run_end(self, e: ev.RunEnd) -> None:
        self._end()
        self.summary = e.summary
        self._set_best(e.summary.get("best_epoch"))
        self.signals.finished.emit(e.summary)

    def _on_error(self, e: ev.Error) -> None:
        self._end()
        self.error = e
        self.signals.failed.emit(e)

    def _end(self) -> None:
        if self.running:
            self.running = False
            self.ended_at = self.clock()

    _HANDLERS: dict[type, Callable[[TrainingSession, Any], None]] = {
        ev.RunStart: _on_run_start,
        ev.CacheProgress: lambda self, e: self.signals.cache_progress.emit(e),
        ev.EpochStart: lambda self, e: self.signals.epoch_started.emit(e),
        ev.BatchEnd: _on_batch,
        ev.EpochEnd: _on_epoch_end,
        ev.EarlyStop: _on_early_stop,
        ev.CheckpointSaved: _on_checkpoint,
        ev.Log: lambda self, e: self.signals.log.emit(e.message),
        ev.RunEnd: _on_run_end,
        ev.Error: _on_error,
    }
