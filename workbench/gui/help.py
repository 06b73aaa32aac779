"""The user guide shipped with the package (resources/help/guide.html), shown in a window of its own.

Every setting has a paragraph whose anchor is :func:`setting_anchor` of its dotted path, so the
form's "?" beside a setting opens the guide at that paragraph (a test checks each declared setting
has one).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from workbench.resources_path import resources_dir


def guide_path() -> Path:
    return resources_dir() / "help" / "guide.html"


def setting_anchor(path: str) -> str:
    """``batch_size`` → ``setting-batch_size``; ``augment.hue`` → ``setting-augment-hue``."""
    return "setting-" + path.replace(".", "-")


class HelpWindow(QDialog):
    """The guide in a QTextBrowser (no browser or network needed), with a button to open it in
    the system's browser instead. ``show_anchor(name)`` scrolls to a paragraph."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Workbench user guide")
        self.resize(760, 820)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName("User guide")
        self.browser.setOpenExternalLinks(True)  # links within the page scroll; others open outside
        self.browser.setSource(QUrl.fromLocalFile(str(guide_path())))
        outside = QPushButton("Open in browser")
        outside.setToolTip("Open the guide in your web browser")
        outside.clicked.connect(self.open_in_browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(outside, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)

    def show_anchor(self, anchor: str | None = None) -> None:
        self.show()
        self.raise_()
        if anchor:
            self.browser.scrollToAnchor(anchor)

    def open_in_browser(self) -> bool:
        url = QUrl.fromLocalFile(str(guide_path()))
        fragment = self.browser.source().fragment()
        if fragment:
            url.setFragment(fragment)
        return QDesktopServices.openUrl(url)
