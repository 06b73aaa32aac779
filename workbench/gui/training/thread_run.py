"""A run in this process: the engine in a QThread, its events crossing to the GUI thread as they are.

The worker runs a *job*: anything with ``subscribe(fn)``, ``request_stop()`` and ``run()``, made on
the worker thread by a factory. A :class:`~workbench.engine.trainer.Trainer` is one; so are the
studies (:class:`~workbench.studies.lr_find.LearningRateFinder`,
:class:`~workbench.studies.cross_validation.CrossValidation`), which drive trainers themselves.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThread, Signal, Slot

from workbench.config import ConfigError, TrainConfig
from workbench.engine import events as ev
from workbench.engine.faults import release_memory
from workbench.gui.training.run import TrainingRun


class Job(Protocol):
    """What the worker runs: a Trainer, or a study that drives trainers (the same three methods)."""

    def subscribe(self, fn: Callable[[ev.Event], None]) -> Any: ...
    def request_stop(self) -> None: ...
    def run(self) -> Any: ...


def trainer_job(config: TrainConfig, out=None, resume=None, runs_root=None, scan=None) -> Callable[[], Job]:
    """The factory of an ordinary training run's job."""
    def make():
        from workbench.engine.trainer import Trainer

        return Trainer(config, out=out, resume=resume, runs_root=runs_root, scan=scan)
    return make


class TrainingWorker(QObject):
    """Runs one job (a :class:`~workbench.engine.trainer.Trainer` or a study) in its QThread.

    Every failure ends as one Error event whose message is for the user: the engine's own (it
    carries the out-of-memory details) with the message this worker settles on.
    """

    event = Signal(object)  # an engine Event (frozen dataclass of plain values)
    done = Signal()

    def __init__(self, make_job: Callable[[], Job]):
        super().__init__()
        self.make_job = make_job
        self.job: Job | None = None
        self._stop_early = False
        self._engine_error: ev.Error | None = None

    @Slot()
    def run(self) -> None:
        _yield_cpu_to_the_window()
        try:
            self._train()
        finally:
            self.done.emit()

    def _train(self) -> None:
        try:
            self.job = self.make_job()
            self.job.subscribe(self._forward)
            if self._stop_early:
                self.job.request_stop()
            self.job.run()
        except (ConfigError, FileExistsError) as exc:
            self._fail(exc, str(exc))
        except Exception as exc:  # noqa: BLE001 — any failure must reach the window, not kill it
            self._fail(exc, self._message(exc))

    def _forward(self, event: ev.Event) -> None:
        if isinstance(event, ev.Error):
            self._engine_error = event  # held back: _fail sends the one Error of the run
        else:
            self.event.emit(event)

    def _message(self, exc: Exception) -> str:
        from workbench.engine.faults import classify
        from workbench.engine.trainer import USER_ERRORS

        fault = classify(exc)
        if fault is not None or isinstance(exc, USER_ERRORS):
            return fault.message if fault else str(exc)
        # A bug, not a user error: the traceback goes to the log, a short line to the dialog.
        self.event.emit(ev.Log(message="".join(traceback.format_exception(exc)).rstrip()))
        return f"Unexpected error: {exc.__class__.__name__}: {exc} (the traceback is in the log)"

    def _fail(self, exc: Exception, message: str) -> None:
        from workbench.engine.faults import classify

        error = self._engine_error
        if error is None:  # failed before the engine's loop started (config, run folder)
            fault = classify(exc)
            error = ev.Error(message=message, type=exc.__class__.__name__,
                             reason=fault.reason if fault else None,
                             cli_hint=fault.cli_hint if fault else None,
                             details=dict(fault.details) if fault else {})
        self.event.emit(dataclasses.replace(error, message=message))
        # The failed run's model and optimizer must not hold GPU memory a retry needs; the run
        # collects the garbage on the GUI thread once this thread has ended.
        self.job = None

    def request_stop(self) -> None:
        """Thread-safe: the engine checks a threading.Event after every batch."""
        self._stop_early = True
        job = self.job  # read once: the worker thread drops it when a run fails
        if job is not None:
            job.request_stop()


class ThreadTrainingRun(TrainingRun):
    """The engine in a low-priority QThread of this process: ``make_job`` (see :func:`trainer_job`)
    builds the Trainer or study there; ``ends_with`` is the event that carries its outcome."""

    def __init__(self, make_job: Callable[[], Job], ends_with: type[ev.Event] = ev.RunEnd,
                 parent: QObject | None = None):
        super().__init__(parent, ends_with)
        self._thread = QThread()
        self._thread.setObjectName("TrainingThread")
        self._worker = TrainingWorker(make_job)
        self._worker.moveToThread(self._thread)
        # Queued: this object lives on the GUI thread, so events are delivered there, in order,
        # and the thread's finished signal comes after the last of them.
        self._worker.event.connect(self._deliver)
        self._worker.done.connect(self._thread.quit)
        self._thread.started.connect(self._worker.run)
        self._thread.finished.connect(self._on_thread_finished)

    def start(self) -> None:
        self._thread.start(QThread.Priority.LowPriority)

    def request_stop(self) -> None:
        self._worker.request_stop()

    def wait(self, msecs: int) -> bool:
        return self.outcome is not None or self._thread.wait(msecs)

    def _on_thread_finished(self) -> None:
        if self.failed:
            # On this (the GUI) thread: a garbage collection on the worker thread can delete Qt
            # wrappers there and deadlock against the GUI thread inside QObject::disconnect.
            release_memory()
        self._worker.deleteLater()
        self._thread.deleteLater()
        self._end()


def _yield_cpu_to_the_window() -> None:
    """Lower this thread's scheduling priority so the GUI thread wins the CPU when both want it.

    On Linux the nice value is per thread and inherited by the threads torch starts from here
    (its intra-op pool), so training keeps every core when the window is idle and yields them
    for the few milliseconds the window needs. Elsewhere QThread priorities do the same.
    """
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)
        except OSError:
            pass
