"""Every window test gets its own settings file, so remembered settings never leak between tests."""

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture
def window(qtbot, qapp, tmp_path):
    from workbench.gui.app import make_application
    from workbench.gui.main_window import MainWindow

    make_application()  # the application set-up the real app gets (style, palette, GIL hand-over)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    if win.controller.running:
        win.controller.stop()
        win.controller.wait(60_000)
