"""Every window test gets its own settings file, so remembered settings never leak between tests."""

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def _application(qapp):
    """Every window test runs in the application the real app gets (make_application): among
    other things, garbage is then collected on the GUI thread only, never on a training thread."""
    from workbench.gui.app import make_application

    make_application()


@pytest.fixture
def shown(qtbot):
    """``shown(widget, size=(w, h))``: the widget registered with qtbot, resized, on screen."""
    def show(widget, size=None):
        qtbot.addWidget(widget)
        if size:
            widget.resize(*size)
        widget.show()
        return widget
    return show


@pytest.fixture
def window(qtbot, qapp, tmp_path):
    from workbench.gui.app import make_application
    from workbench.gui.main_window import MainWindow

    make_application()  # the application set-up the real app gets (style, palette, GIL hand-over)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    win.engine.load_now()  # torch and the engine, which a real launch loads in the background
    yield win
    if win.controller.running:
        win.controller.stop()
        win.controller.wait(60_000)


@pytest.fixture(scope="session")
def past_runs(tiny_data, tmp_path_factory):
    """Two real short runs (small_cnn on tiny_data, 2 and 1 epochs) in their own runs folder.

    Shared read-only: copy the folder (shutil.copytree) before a test changes anything in it.
    """
    from workbench.config import TrainConfig
    from workbench.engine.trainer import Trainer

    root = tmp_path_factory.mktemp("past_runs")
    runs = []
    for epochs, lr in ((2, 0.001), (1, 0.003)):
        config = TrainConfig(data_dir=str(tiny_data), model="small_cnn", image_size=32, epochs=epochs,
                             batch_size=8, workers=1, seed=0, lr=lr)
        runs.append(Trainer(config, out=root / f"run-{epochs}-epochs").run())
    return root, [s["run_dir"] for s in runs]
