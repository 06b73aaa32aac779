"""**Save report…**: the one-file HTML report of a run or study folder, written off the GUI thread
(it decodes thumbnails and draws charts) and then opened in the user's browser."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QWidget

from workbench.gui.offthread import run_in_pool


class ReportSaver(QObject):
    """``save(folder)`` asks where, writes, opens; ``saved(path)`` or ``failed(message)`` follows."""

    saved = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.parent_widget = parent
        self.busy = False

    def save(self, folder: str | Path, out: str | None = None) -> bool:
        """Starts writing the report of ``folder``; ``out`` skips the file dialog. False if not started."""
        if self.busy or not folder:
            return False
        folder = Path(folder)
        if out is None:
            out, _ = QFileDialog.getSaveFileName(self.parent_widget, "Save report",
                                                 str(folder / "report.html"),
                                                 "HTML report (*.html)")
            if not out:
                return False
        if not out.lower().endswith((".html", ".htm")):
            out += ".html"
        from workbench.report import write_report

        self.busy = True
        run_in_pool(lambda: str(write_report(folder, out)), self._done, self._failed, owner=self)
        return True

    def _done(self, path: str) -> None:
        self.busy = False
        self.saved.emit(path)
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def _failed(self, message: str) -> None:
        self.busy = False
        self.failed.emit(f"Could not save the report: {message}")
