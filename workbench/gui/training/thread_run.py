"""Running the engine off the GUI thread and turning its events into Qt signals."""

from __future__ import annotations

import os
import sys
import threading
import traceback

from PySide6.QtCore import QObject, QThread, Signal, Slot

from workbench.config import ConfigError, TrainConfig
from workbench.engine.faults import release_memory


class TrainingWorker(QObject):
    """Runs one :class:`~workbench.engine.trainer.Trainer` in its QThread.

    Engine events cross to the GUI thread as ``(kind, data)`` with plain-value payloads.
    """

    event = Signal(str, object)
    finished = Signal(object)  # the run summary (dict)
    failed = Signal(str)  # a message for the user

    def __init__(self, config: TrainConfig, out=None, resume=None, runs_root=None, scan=None):
        super().__init__()
        self.config, self.out, self.resume, self.runs_root = config, out, resume, runs_root
        self.scan = scan
        self.trainer = None
        self._stop_early = False
        self.run_failed = False

    @Slot()
    def run(self) -> None:
        from workbench.engine.faults import classify
        from workbench.engine.trainer import USER_ERRORS, Trainer

        _yield_cpu_to_the_window()
        try:
            self.trainer = Trainer(self.config, out=self.out, resume=self.resume,
                                   runs_root=self.runs_root, scan=self.scan)
            self.trainer.subscribe(lambda e: self.event.emit(e.kind, e.data))
            if self._stop_early:
                self.trainer.request_stop()
            summary = self.trainer.run()
        except (ConfigError, FileExistsError) as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 — any failure must reach the window, not kill it
            fault = classify(exc)
            if fault is not None or isinstance(exc, USER_ERRORS):
                self.failed.emit(fault.message if fault else str(exc))
            else:
                # A bug, not a user error: the traceback goes to the log, a short line to the dialog.
                self.event.emit("log", {"message": "".join(traceback.format_exception(exc)).rstrip()})
                self.failed.emit(f"Unexpected error: {exc.__class__.__name__}: {exc} "
                                 "(the traceback is in the log)")
        else:
            self.finished.emit(summary)
            return
        # The failed run's model and optimizer must not hold GPU memory a retry needs; the
        # controller collects the garbage on the GUI thread once this thread has ended.
        self.trainer = None
        self.run_failed = True

    def request_stop(self) -> None:
        """Thread-safe: the engine checks a threading.Event after every batch."""
        self._stop_early = True
        trainer = self.trainer  # read once: the worker thread drops it when a run fails
        if trainer is not None:
            trainer.request_stop()


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


def processes_from_environment() -> int:
    """WORKBENCH_PROCESSES=N makes the window train on N processes under torchrun even without
    GPUs (for tests and CPU clusters); unset, the window's GPUs setting decides."""
    try:
        return max(1, int(os.environ.get("WORKBENCH_PROCESSES", "1")))
    except ValueError:
        return 1


class TrainingController(QObject):
    """Owns the current run: a worker thread, or torchrun child processes when ``processes`` > 1
    (:mod:`workbench.gui.training.process_run`); at most one run at a time, the same signals either way."""

    event = Signal(str, object)
    finished = Signal(object)
    failed = Signal(str)
    runningChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._process_run = None
        self.processes = 1  # processes (GPUs) of the next run; the window's GPUs setting

    @property
    def running(self) -> bool:
        return self._thread is not None or self._process_run is not None

    def start(self, config: TrainConfig, out=None, resume=None, runs_root=None, scan=None) -> None:
        if self.running:
            raise RuntimeError("a run is already in progress")
        if self.processes > 1:
            self._start_processes(config, out, resume, runs_root)
            return
        self._thread = QThread()
        self._thread.setObjectName("TrainingThread")
        self._worker = TrainingWorker(config, out, resume, runs_root, scan)
        self._worker.moveToThread(self._thread)
        self._worker.event.connect(self.event)
        self._worker.finished.connect(self.finished)
        self._worker.failed.connect(self.failed)
        self._worker.finished.connect(self._thread.quit)
        self._worker.failed.connect(self._thread.quit)
        self._thread.started.connect(self._worker.run)
        self._thread.finished.connect(self._cleanup)
        self._thread.start(QThread.Priority.LowPriority)
        self.runningChanged.emit(True)

    def _start_processes(self, config: TrainConfig, out, resume, runs_root) -> None:
        from workbench.gui.training.process_run import ProcessTrainingRun

        run = ProcessTrainingRun(config, self.processes, out, resume, runs_root, parent=self)
        run.event.connect(self.event)
        run.finished.connect(self.finished)
        run.failed.connect(self.failed)
        run.ended.connect(self._cleanup_processes)
        self._process_run = run
        run.start()
        self.runningChanged.emit(True)

    def _cleanup_processes(self) -> None:
        self._process_run.deleteLater()
        self._process_run = None
        self.runningChanged.emit(False)

    def stop(self) -> None:
        """Ask the run to end after the current batch; the best checkpoint is kept."""
        if self._worker is not None:
            self._worker.request_stop()
        if self._process_run is not None:
            self._process_run.request_stop()

    def wait(self, msecs: int = 30_000) -> bool:
        if self._process_run is not None:
            return self._process_run.wait(msecs)
        return self._thread.wait(msecs) if self._thread is not None else True

    def _cleanup(self) -> None:
        if self._worker.run_failed:
            # On this (the GUI) thread: a garbage collection on the worker thread can delete Qt
            # wrappers there and deadlock against the GUI thread inside QObject::disconnect.
            release_memory()
        self._worker.deleteLater()
        self._thread.deleteLater()
        self._thread = self._worker = None
        self.runningChanged.emit(False)
