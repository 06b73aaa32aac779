"""The desktop window (PySide6 + pyqtgraph): the only package that imports Qt."""

from workbench.gui.app import run_app

__all__ = ["MainWindow", "run_app"]


def __getattr__(name: str):
    # MainWindow pulls in every view; import it only when asked for.
    if name == "MainWindow":
        from workbench.gui.main_window import MainWindow

        return MainWindow
    raise AttributeError(name)
