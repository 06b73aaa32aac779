"""Screenshots of each view for the README: run under a real X server, e.g.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py

Opens the window on the bundled sample data, trains the small CNN for a few epochs and saves
docs/dataset.png, docs/training.png and docs/results.png; then trains a second run with another
learning rate and saves docs/runs.png (the two runs compared) and docs/try_it.png (the first
run classifying sample images).

The studies come next (``--studies`` makes only these): docs/lr_finder.png (the learning-rate
sweep with its suggestion), docs/cross_validation.png (a 3-fold study and its recommendation) and
docs/results_test_set.png (the final model trained on the recommendation, scored on a test set).

``--search`` makes only docs/search.png: a 6-trial, 3-epoch search of the small CNN at 32 px.
``--heatmap`` makes docs/heatmap.png alone: a short run, then Try it with every card's Grad-CAM
heat map switched on.
``--reliability`` makes only docs/reliability.png: the Results view's reliability diagram after a
short run (the bars before and after temperature scaling).
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
    # The default batch of 16: with 8, the one-epoch sweep's 33 batch losses are too noisy for the
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


def search(window) -> None:
    """A small search on the sample data: the Search tab once its six trials are done."""
    form, view = window.form, window.search_view
    form.model.setCurrentIndex(form.model.findData("small_cnn"))
    form.image_size.setValue(32)
    form.epochs.setValue(3)
    view.trials.setValue(6)
    view.editor.row("batch_size").values.setText("8, 16, 32")
    settle()
    view.start_button.click()
    wait(window.controller.ended, 1_200_000)
    best = window.studies.search.session.best()
    if best is not None:  # the best trial's curves
        view.table.selectRow(next(r for r in range(view.table.rowCount())
                                  if view.table.item(r, 0).text() == str(best["number"])))
    settle(4000)  # the importances arrive off-thread
    window.grab().save(str(DOCS / "search.png"))
    print("search screenshot written;", view.best_label.text())


def heat_maps(window) -> None:
    """Try it with the heat map of each card's top class laid over its image."""
    window.open_dataset(sample_data_dir())
    wait(window.datasetOpened, 30_000)
    window.form.epochs.setValue(8)
    window.start_training()
    wait(window.runFinished, 1_800_000)
    try_it = window.try_it
    window.tabs.setCurrentWidget(try_it)
    try_it.set_model(window.run_dir)
    wait(try_it.modelLoaded, 60_000)
    images = [sorted(folder.iterdir())[7] for folder in sorted(Path(sample_data_dir()).iterdir())
              if folder.is_dir()]
    try_it.add_images(images)
    wait(try_it.predictionsShown, 60_000)
    for card in try_it.cards:
        card.heat_button.click()
        wait(try_it.heatMapShown, 60_000)
    settle(1500)
    window.grab().save(str(DOCS / "heatmap.png"))
    print("heat map screenshot written")


def reliability(window) -> None:
    """One short run; the Results view with its reliability diagram."""
    window.open_dataset(sample_data_dir())
    wait(window.datasetOpened, 30_000)
    window.form.epochs.setValue(8)
    window.start_training()
    summary = wait(window.runFinished, 1_200_000)
    window.tabs.setCurrentWidget(window.results)
    settle(2500)
    window.results.grab().save(str(DOCS / "reliability.png"))
    calibration = (summary or {}).get("calibration") or {}
    print("reliability screenshot written; ECE", calibration.get("ece_before"), "→",
          calibration.get("ece_after"), "temperature", calibration.get("temperature"))


def main() -> int:
    app = make_application(sys.argv)
    from workbench.gui.main_window import MainWindow

    tmp = tempfile.mkdtemp()
    window = MainWindow(settings=QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat))
    window.runs_view.set_runs_root(f"{tmp}/runs")
    window.resize(1400, 900)  # the window's own default size
    window.show()
    if "--reliability" in sys.argv or "--heatmap" in sys.argv:
        window.engine.load_now()  # these start a run at once: Start waits for torch
    if "--reliability" in sys.argv:
        reliability(window)
        window.close()
        app.quit()
        return 0
    if "--heatmap" in sys.argv:
        heat_maps(window)
        window.close()
        app.quit()
        return 0
    if "--studies" not in sys.argv and "--search" not in sys.argv:
        views(window)
    else:
        window.open_dataset(sample_data_dir())
        wait(window.datasetOpened, 30_000)
        window.engine.load_now()
    if "--search" in sys.argv:
        search(window)
    else:
        studies(window)
    window.close()
    app.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
