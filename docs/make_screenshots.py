"""Screenshots of each view for the README: run under a real X server, e.g.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py

Opens the window on the bundled sample data, trains the small CNN for a few epochs and saves
docs/dataset.png, docs/training.png and docs/results.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer

from workbench.gui.app import make_application
from workbench.resources_path import sample_data_dir

DOCS = Path(__file__).resolve().parent


def wait(signal, timeout_ms: int) -> object:
    loop, box = QEventLoop(), []
    signal.connect(lambda *args: (box.append(args), loop.quit()))
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    return box[0][0] if box else None


def settle(ms: int = 800) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> int:
    app = make_application(sys.argv)
    from workbench.gui.main_window import MainWindow

    tmp = tempfile.mkdtemp()
    window = MainWindow(settings=QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat))
    window.settings.setValue("runs_dir", f"{tmp}/runs")
    window.resize(1500, 950)
    window.show()
    window.open_dataset(sample_data_dir())
    wait(window.datasetOpened, 30_000)
    settle(2500)  # thumbnails and augmentation previews arrive off-thread
    window.grab().save(str(DOCS / "dataset.png"))

    window.form.epochs.setValue(12)
    window.start_training()
    summary = wait(window.runFinished, 600_000)
    settle()
    window.tabs.setCurrentIndex(1)
    settle()
    window.grab().save(str(DOCS / "training.png"))
    window.tabs.setCurrentIndex(2)
    settle(2500)
    window.grab().save(str(DOCS / "results.png"))
    print("screenshots written;", summary and summary.get("stop_reason"))
    window.close()
    app.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
