"""Starting the window: application setup, palette, and the first dataset."""

from __future__ import annotations

import os
import sys

import pyqtgraph as pg
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QApplication

from workbench import __version__
from workbench.resources_path import resources_dir, sample_data_dir


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, styled to follow the system's light or dark colours."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    # The training thread runs Python between tensor ops; handing the GIL over every 1 ms
    # instead of 5 ms keeps the event loop's waits short while a run starts and trains.
    sys.setswitchinterval(0.001)
    if not hasattr(app, "garbage_collector"):
        # Garbage is collected on the GUI thread only (see gui/garbage.py: on the training thread
        # a collection deadlocked inside Qt's destructors).
        from workbench.gui.garbage import GuiThreadGarbageCollector

        app.garbage_collector = GuiThreadGarbageCollector(parent=app)
    app.setApplicationName("Workbench")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("workbench")
    # Fusion follows the system colour scheme (Qt ≥ 6.5) on every platform and looks the same
    # everywhere; the plots take their colours from the resulting palette.
    app.setStyle("Fusion")
    palette = app.palette()
    pg.setConfigOptions(antialias=True,
                        background=palette.color(QPalette.ColorRole.Base),
                        foreground=palette.color(QPalette.ColorRole.Text))
    icon = resources_dir() / "icons" / "workbench.png"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def run_app(argv: list[str] | None = None) -> int:
    """Open the window on the last folder used, or the bundled sample dataset, ready to train."""
    from workbench.gui.system_libraries import check_xcb_libraries

    advice = check_xcb_libraries()  # Qt would abort the process on a missing library, unexplained
    if advice:
        print(advice, file=sys.stderr)
        return 2
    app = make_application(argv)
    from workbench.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if os.environ.get("WORKBENCH_QUIT_WHEN_READY"):
        # Smoke tests (the test suite, an installed bundle) check the window comes up ready:
        # the folder scanned and the engine loaded (or either refused).
        scanned: list = []

        def report(*_args) -> None:
            loading = not (window.engine.is_loaded or window.engine.error)
            if not scanned or (scanned[0] is not None and loading):
                return
            scan = scanned[0]
            ready = scan is not None and window.start_button.isEnabled()
            print(f"window ready: {ready}; dataset {scan.root if scan else None}", flush=True)
            window.close()
            app.exit(0 if ready else 1)

        window.datasetOpened.connect(lambda scan: (scanned.append(scan), report()))
        window.engine.loaded.connect(report)
        window.engine.failed.connect(report)
    window.open_dataset(window.last_folder() or sample_data_dir())
    return app.exec()
