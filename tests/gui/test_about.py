"""The version users see (title bar, Help → About) and the icon come from the package."""

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from workbench import __version__


def test_about_box_and_title_show_the_package_version(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append((title, text)))
    about = next(a for a in window.findChildren(QAction) if a.text().replace("&", "") == "About Workbench")
    about.trigger()
    assert shown and f"Workbench {__version__}" in shown[0][1]
    assert window.windowTitle() == f"Workbench {__version__}"


def test_window_has_the_workbench_icon(window):
    assert not window.windowIcon().isNull()
