"""The Training tab: the live plots, the progress panel and the log of the window's run.

It owns the run (:class:`~workbench.gui.training.controller.TrainingController`) and the
:class:`~workbench.session.TrainingSession` the run's events feed; its views connect to the
session's signals. Batch points are drawn at 4 Hz, not per batch (see :meth:`_flush_batches`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QSplitter

from workbench.config import TrainConfig
from workbench.engine import events as ev
from workbench.gui.plots import TrainingPlots
from workbench.gui.training.controller import TrainingController
from workbench.gui.training.log import RunLog
from workbench.gui.training.progress import ProgressPanel
from workbench.session import TrainingSession

REDRAW_MS = 250


class TrainingTab(QSplitter):
    """``start(config, …)`` trains and shows the run; ``controller.ended`` says how it ended."""

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.session = TrainingSession()
        self.controller = TrainingController(self)
        # First connection: views have handled an event before anyone else hears of it.
        self.controller.event.connect(self._follow)
        self._live = True  # the current run's events feed the session (a sweep's do not)

        self.plots = TrainingPlots()
        self.progress = ProgressPanel(self.session)
        self.log = RunLog(self.session)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.log)
        self.addWidget(self.plots)
        self.addWidget(bottom)
        self.setStretchFactor(0, 3)

        self._pending: list[tuple[int, float, float]] = []  # (global iteration, loss, lr)
        signals = self.session.signals
        signals.reset.connect(self._reset)
        signals.started.connect(self._on_started)
        signals.batch.connect(self._on_batch)
        signals.epoch.connect(self._on_epoch)
        signals.best.connect(self.plots.mark_best)
        signals.early_stop.connect(lambda e: self.plots.mark_stop(e.epoch))
        signals.finished.connect(lambda _summary: self._flush_batches())
        signals.failed.connect(lambda _error: self._flush_batches())
        # Batch events arrive in bursts; drawing at 4 Hz keeps the event loop free and leaves
        # the CPU to training (each redraw of the iteration plots costs a few milliseconds).
        self._redraw = QTimer(self)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self._flush_batches)
        self._redraw.start()

    def start(self, config: TrainConfig, *, processes: int = 1, runs_root=None, scan=None,
              resume=None, out=None) -> None:
        """Clear the views and train ``config`` on ``processes`` processes (> 1: torchrun)."""
        self.session.reset()
        self.controller.processes = processes
        self._live = True
        self.controller.start(config, out=out, runs_root=runs_root, scan=scan, resume=resume)

    def start_study(self, run, *, live: bool) -> None:
        """Run a study (a :class:`~workbench.gui.training.run.TrainingRun` whose job is a study)
        through the one controller. ``live``: its runs show here one at a time (a cross-validation's
        folds, a search's trials: the session starts afresh at every one); otherwise its own view shows it."""
        self._live = live
        self.controller.start_run(run)

    def _follow(self, event: ev.Event) -> None:
        if not self._live:
            return
        if isinstance(event, (ev.FoldStart, ev.TrialStart)):
            self.session.reset()  # each fold or trial is a run of its own on the live plots
        self.session.handle(event)

    def _reset(self) -> None:
        self._pending.clear()
        self.plots.reset()

    def _on_started(self, e: ev.RunStart) -> None:
        for metrics in e.history:  # a resumed run's earlier epochs
            self.plots.add_epoch(metrics)

    def _on_batch(self, global_iteration: int, e: ev.BatchEnd) -> None:
        self._pending.append((global_iteration, e.loss, e.lr))

    def _on_epoch(self, e: ev.EpochEnd) -> None:
        self._flush_batches()
        self.plots.add_epoch(e.data)
        if e.lr_first_group is not None:  # layer-wise rates: the first group's beside the head's
            self.plots.add_first_group_lr(self.session.global_iteration, e.lr_first_group)

    def _flush_batches(self) -> None:
        if not self._pending:
            return
        points, self._pending = self._pending, []
        self.plots.add_batches(points)
        self.progress.show_latest()
