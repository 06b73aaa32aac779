"""The Training tab's log: the engine's messages, the run's one-line summary or its error."""

from __future__ import annotations

from PySide6.QtWidgets import QPlainTextEdit

from workbench.engine import events as ev
from workbench.engine.summary import one_line_summary
from workbench.session import TrainingSession, epoch_line


class RunLog(QPlainTextEdit):
    """A read-only view of the session's log messages."""

    def __init__(self, session: TrainingSession, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(5000)  # a long run's messages stay cheap to show
        self.setAccessibleName("Log")
        self.setToolTip("Messages from the training engine")
        signals = session.signals
        signals.reset.connect(self.clear)
        signals.log.connect(self.appendPlainText)
        signals.epoch.connect(lambda e: self.appendPlainText(epoch_line(e)))  # as the terminal prints
        signals.finished.connect(self._on_finished)
        signals.failed.connect(self._on_failed)

    def _on_finished(self, summary: dict) -> None:
        self.appendPlainText(one_line_summary(summary))

    def _on_failed(self, error: ev.Error) -> None:
        self.appendPlainText(f"Error: {error.message}")
