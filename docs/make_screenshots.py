"""Screenshots of each view for the README: run under a real X server, e.g.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py

Opens the window on the bundled sample data, trains the small CNN for a few epochs and saves
docs/dataset.png, docs/training.png and docs/results.png; then trains a second run with another
learning rate and saves docs/runs.png (the two runs compared) and docs/try_it.png (the first
run classifying sample images).

The studies come next (``--studies`` makes only these): docs/lr_finder.png (the learning-rate
sweep with its suggestion), docs/cross_validation.png (a 3-fold study and its recommendation) and
docs/results_test_set.png (the final model trained on the recommendation, scored on a test set).
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
    return box[0][0] if box and box[0] else None


def settle(ms: int = 800) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def views(window) -> None:
    """The five views after two short runs on the sample data."""
    window.open_dataset(sample_data_dir())
    wait(window.datasetOpened, 30_000)
    if not window.engine.is_loaded:
        wait(window.engine.loaded, 120_000)  # torch loads in the background; the preview needs it
    if window.preview.last_result is None:
        wait(window.preview.previewUpdated, 60_000)
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
    first_run = window.run_dir

    window.form.lr.setValue(0.003)
    window.start_training()
    wait(window.runFinished, 600_000)
    settle()
    runs = window.runs_view
    window.tabs.setCurrentWidget(runs)
    if runs.table.rowCount() < 2:
        wait(runs.runsListed, 30_000)
    runs.select_runs([first_run, window.run_dir])
    settle(1500)
    window.grab().save(str(DOCS / "runs.png"))

    try_it = window.try_it
    window.tabs.setCurrentWidget(try_it)
    try_it.set_model(first_run)
    wait(try_it.modelLoaded, 60_000)
    images = [sorted(folder.iterdir())[7] for folder in sorted(Path(sample_data_dir()).iterdir())
              if folder.is_dir()]
    try_it.add_images(images)
    wait(try_it.predictionsShown, 60_000)
    settle(1500)
    window.grab().save(str(DOCS / "try_it.png"))
    print("screenshots written;", summary and summary.get("stop_reason"))


def studies(window) -> None:
    """Find a learning rate, cross-validate with it, train the final model: three screenshots."""
    form = window.form
    form.epochs.setValue(10)
    # The default batch of 32: with 8, the one-epoch sweep's 33 batch losses are too noisy for the
    # model to show any descent before the loss blows up, and the finder (rightly) refuses.
    form.test_fraction.setValue(0.15)
    settle()
    dialog = window.studies.find_learning_rate()
    wait(window.controller.ended, 300_000)
    settle(1500)
    dialog.grab().save(str(DOCS / "lr_finder.png"))
    dialog.use_button.click()
    dialog.close()

    view = window.cross_validation
    view.folds.setValue(3)
    view.start_button.click()
    wait(window.controller.ended, 1_800_000)
    settle(1500)
    window.grab().save(str(DOCS / "cross_validation.png"))

    view.final_button.click()
    wait(window.runFinished, 600_000)
    window.tabs.setCurrentWidget(window.results)
    settle(2500)
    window.grab().save(str(DOCS / "results_test_set.png"))
    print("study screenshots written;", view.sentence_label.text())


def main() -> int:
    app = make_application(sys.argv)
    from workbench.gui.main_window import MainWindow

    tmp = tempfile.mkdtemp()
    window = MainWindow(settings=QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat))
    window.runs_view.set_runs_root(f"{tmp}/runs")
    window.resize(1400, 900)  # the window's own default size
    window.show()
    if "--studies" not in sys.argv:
        views(window)
    else:
        window.open_dataset(sample_data_dir())
        wait(window.datasetOpened, 30_000)
        window.engine.load_now()
    studies(window)
    window.close()
    app.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
