"""The window's current run: at most one :class:`~workbench.gui.training.run.TrainingRun` at a time."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal

from workbench.config import TrainConfig
from workbench.gui.training.run import RunOutcome, TrainingRun


def processes_from_environment() -> int:
    """WORKBENCH_PROCESSES=N makes the window train on N processes under torchrun even without
    GPUs (for tests and CPU clusters); unset, the window's GPUs setting decides."""
    try:
        return max(1, int(os.environ.get("WORKBENCH_PROCESSES", "1")))
    except ValueError:
        return 1


def make_run(config: TrainConfig, processes: int, out=None, resume=None, runs_root=None, scan=None,
             parent: QObject | None = None) -> TrainingRun:
    """A run in a thread of this process, or under torchrun when ``processes`` > 1 (the child
    processes scan the folder themselves, so ``scan`` is for the in-process run only)."""
    if processes > 1:
        from workbench.gui.training.process_run import ProcessTrainingRun

        return ProcessTrainingRun(config, processes, out, resume, runs_root, parent=parent)
    from workbench.gui.training.thread_run import ThreadTrainingRun, trainer_job

    return ThreadTrainingRun(trainer_job(config, out, resume, runs_root, scan), parent=parent)


class TrainingController(QObject):
    """Starts runs and passes their signals on; ``finished``/``failed`` split the outcome for
    callers that want one of the two."""

    event = Signal(object)  # an engine Event of the current run
    ended = Signal(object)  # RunOutcome, once the run's thread or processes are gone
    finished = Signal(object)  # the summary (the run ended with one)
    failed = Signal(str)  # the user's message (the run failed)
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._run: TrainingRun | None = None
        self.processes = 1  # processes (GPUs) of the next run; the window's GPUs setting

    @property
    def running(self) -> bool:
        return self._run is not None

    def start(self, config: TrainConfig, out=None, resume=None, runs_root=None, scan=None) -> None:
        if self.running:
            raise RuntimeError("a run is already in progress")
        self.start_run(make_run(config, self.processes, out, resume, runs_root, scan, parent=self))

    def start_run(self, run: TrainingRun) -> None:
        """Start a run made elsewhere (a study); it becomes the current run."""
        if self.running:
            raise RuntimeError("a run is already in progress")
        run.setParent(self)
        self._run = run
        self._run.event.connect(self.event)
        self._run.ended.connect(self._on_ended)
        self._run.start()
        self.runningChanged.emit(True)

    def stop(self) -> None:
        """Ask the run to end after the current batch; the best checkpoint is kept."""
        if self._run is not None:
            self._run.request_stop()

    def wait(self, msecs: int = 30_000) -> bool:
        return self._run.wait(msecs) if self._run is not None else True

    def _on_ended(self, outcome: RunOutcome) -> None:
        self._run.deleteLater()
        self._run = None
        # Not running any more before anyone hears of the end, so a handler may start the next run.
        self.runningChanged.emit(False)
        self.ended.emit(outcome)
        if outcome.failed:
            self.failed.emit(outcome.message)
        else:
            self.finished.emit(outcome.summary)
