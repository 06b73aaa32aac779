"""The window as a newcomer meets it: start-up, refusals beside their fields, the sample-data
notice, the Runs title, the plots' axes, the ETA and log at the end, Try it's order, the guide."""

import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
from PIL import Image
from PySide6.QtCore import QSettings

from workbench.config import all_settings
from workbench.resources_path import sample_data_dir


def _open(qtbot, window, path):
    with qtbot.waitSignal(window.datasetOpened, timeout=30_000) as blocker:
        window.open_dataset(path)
    return blocker.args[0]


def test_the_window_shows_and_opens_a_folder_without_importing_torch(tmp_path):
    # The launch benchmark's premise: torch loads after the window appears, not before.
    probe = textwrap.dedent(f"""
        import sys
        from PySide6.QtCore import QEventLoop, QSettings, QTimer
        from workbench.gui.app import make_application
        from workbench.gui import engine_loader
        engine_loader.EngineLoader.start = lambda self: None  # the background load, not done here
        app = make_application([])
        from workbench.gui.main_window import MainWindow
        window = MainWindow(QSettings({str(tmp_path / "s.ini")!r}, QSettings.Format.IniFormat))
        window.show()
        loop = QEventLoop()
        window.datasetOpened.connect(lambda scan: loop.quit())
        window.open_dataset({str(sample_data_dir())!r})
        loop.exec()
        QTimer.singleShot(600, loop.quit)  # the preview's debounce, the audit page's look-up
        loop.exec()
        # Nothing that needs torch, imagehash or scipy starts before the background load: their
        # imports would compete with the window's first paints.
        print(window.scan is not None, "torch" in sys.modules, window.start_button.isEnabled(),
              "imagehash" in sys.modules, "scipy" in sys.modules)
        print(window.start_button.toolTip())
        print(window.preview._status.text())
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:5] == ["True", "False", "False", "False", "False"], out.stdout
    assert "loading PyTorch" in out.stdout
    assert "The preview appears once PyTorch has loaded" in out.stdout


def test_start_waits_for_the_engine_and_says_why(qtbot, tmp_path, monkeypatch):
    from workbench.gui import main_window as main_window_module
    from workbench.gui.engine_loader import EngineLoader

    monkeypatch.setattr(EngineLoader, "start", lambda self: None)
    monkeypatch.setattr(main_window_module, "engine_imported", lambda: False)
    window = main_window_module.MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    _open(qtbot, window, sample_data_dir())
    assert window.folder_edit.isEnabled() and window.form.isEnabled()  # usable at once
    assert not window.start_button.isEnabled()
    assert window.start_button.toolTip() == "Cannot start: loading PyTorch and the models…"
    qtbot.waitUntil(lambda: "appears once PyTorch has loaded" in window.preview._status.text())
    with qtbot.waitSignal(window.preview.previewUpdated, timeout=30_000):
        window.engine._on_loaded(0)  # what the background load reports when it is done
    assert window.start_button.isEnabled() and "Cannot start" not in window.start_button.toolTip()


def test_the_engine_loads_once_the_window_is_idle_or_at_the_latest_after_its_limit(qtbot, monkeypatch):
    import time

    from workbench.gui.engine_loader import EngineLoader

    started = []
    monkeypatch.setattr(EngineLoader, "start", lambda self: started.append(time.monotonic()))
    idle = EngineLoader()
    begun = time.monotonic()
    idle.start_when_idle(quiet_ms=100, at_most_ms=5000)
    qtbot.waitUntil(lambda: bool(started), timeout=5000)
    assert 0.09 <= started[0] - begun < 4  # quiet for 100 ms, well before the limit
    started.clear()
    busy = EngineLoader()
    begun = time.monotonic()
    busy.start_when_idle(quiet_ms=100, at_most_ms=600)
    while not started and time.monotonic() - begun < 5:
        time.sleep(0.06)  # the GUI thread busy: each tick is late, so only the limit starts it
        qtbot.wait(1)
    assert started and 0.55 <= started[0] - begun < 3


def test_the_engine_libraries_open_without_the_gil():
    import ctypes.util
    import threading
    import time

    from workbench.gui.engine_loader import _dlopen_without_gil

    dlopen = _dlopen_without_gil()
    assert dlopen(ctypes.util.find_library("m") or "libm.so.6")  # a handle: opened
    # A foreign call releases the GIL: another thread runs while this one is inside it (were the
    # GIL held, as ctypes.CDLL's own dlopen holds it, the worker would wait the whole 200 ms).
    ran, go = [], threading.Event()
    sleeper = ctypes.CDLL(None).usleep  # the same kind of call as the dlopen: libc through ctypes

    def worker():
        go.wait()
        ran.append(time.monotonic())

    thread = threading.Thread(target=worker)
    thread.start()
    calls = time.monotonic()
    go.set()
    sleeper(200_000)
    thread.join()
    assert ran and ran[0] - calls < 0.15


def test_a_refused_folder_clears_the_previous_folders_thumbnails_and_preview(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.preview.previewUpdated, timeout=60_000):
        _open(qtbot, window, sample_data_dir())
    assert window.preview.last_result is not None
    one_class = tmp_path / "one" / "only"
    one_class.mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (16, 16), (i * 40, 0, 0)).save(one_class / f"{i}.png")
    assert _open(qtbot, window, tmp_path / "one") is None
    qtbot.waitUntil(lambda: window.preview.last_result is None)
    assert "choose an image folder" in window.preview._note.text()
    assert window.dataset_panel._examples_grid.count() == 0
    assert not window.start_button.isEnabled()
    assert "Only one class" in window.start_button.toolTip()


def test_the_sample_data_says_so_until_another_folder_is_opened(qtbot, window, tiny_data):
    _open(qtbot, window, sample_data_dir())
    banner = window.sample_banner
    assert banner.isVisible()
    assert banner.text() == "Sample data: 4 shapes × 100 images — open your own folder with Ctrl+O"
    _open(qtbot, window, tiny_data)
    assert not banner.isVisible()


def test_the_runs_title_follows_the_list(qtbot, tmp_path, past_runs):
    from workbench.gui.runs.runs_view import RunsView

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    root = tmp_path / "runs"
    root.mkdir()
    settings.setValue("runs_dir", str(root))
    view = RunsView(settings)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.runsListed, timeout=30_000):
        view.refresh()
    assert view.details.title.text().startswith("No runs in")
    source, _ = past_runs
    for run in source.iterdir():
        shutil.copytree(run, root / run.name)
    with qtbot.waitSignal(view.runsListed, timeout=30_000):
        view.refresh()
    assert view.details.title.text().startswith("2 runs in")
    view.select_runs([view.runs[0].path])
    assert view.copy_selected_paths() == str(view.runs[0].path)
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == str(view.runs[0].path)


def test_plots_have_whole_epoch_ticks_plain_numbers_padded_ranges_and_legends_outside(qtbot, shown):
    from workbench.gui.plots import TrainingPlots

    plots = shown(TrainingPlots(), size=(900, 600))
    for epoch, (loss, acc) in enumerate([(0.0008, 0.96), (0.0004, 0.99)], start=1):
        plots.add_epoch({"epoch": epoch, "train_loss": loss, "val_loss": loss, "train_acc": acc,
                         "val_acc": acc})
    qtbot.wait(50)
    ticks = plots.loss_plot.getAxis("bottom").tickValues(0.9, 2.1, 400)
    values = [v for _spacing, level in ticks for v in level]
    assert values and all(float(v).is_integer() for v in values) and {1.0, 2.0} <= set(values)
    assert not plots.loss_plot.getAxis("left").autoSIPrefix  # no "loss (x0.001)"
    low, high = plots.acc_plot.getViewBox().viewRange()[1]
    assert 0.9 < low < 0.96 and 0.99 < high <= 1.02  # 96-99 % is not flattened into 0-1
    for plot in (plots.loss_plot, plots.acc_plot):
        item = plot.getPlotItem()
        legend_top = item.legend.sceneBoundingRect().top()
        assert legend_top >= item.getViewBox().sceneBoundingRect().bottom()  # under the data


def test_after_an_early_stop_the_eta_is_cleared_and_the_log_has_every_epoch(qtbot, window, tiny_data):
    _open(qtbot, window, tiny_data)
    form = window.form
    form.image_size.setValue(32)
    form.batch_size.setValue(8)
    form.epochs.setValue(6)
    form.patience.setValue(1)
    form.min_delta.setValue(form.min_delta.maximum())  # no epoch after the first counts as better
    with qtbot.waitSignal(window.runFinished, timeout=120_000) as blocker:
        window.start_training()
    summary = blocker.args[0]
    assert summary["stopped_epoch"] == 2 < 6
    qtbot.wait(600)  # past two redraws of the progress panel
    assert window.progress.eta.text() == "–"
    log = window.log.toPlainText()
    assert "Epoch 1/6: train loss" in log and "Epoch 2/6: train loss" in log


def test_iteration_counts_are_singular_for_one(qtbot):
    from workbench.gui.settings_form import SettingsForm

    form = SettingsForm()
    qtbot.addWidget(form)
    form.set_training_count(8)
    form.batch_size.setValue(8)
    form.epochs.setValue(1)
    assert form.derived.text() == "8 training images ÷ batch 8 = 1 iteration per epoch; 1 epoch = 1 iteration"


def test_try_it_cards_keep_the_order_given(qtbot, tmp_path, tiny_data, past_runs):
    from workbench.gui.try_it.view import TryItView

    view = TryItView()
    qtbot.addWidget(view)
    _root, runs = past_runs
    with qtbot.waitSignal(view.modelLoaded, timeout=60_000):
        view.set_model(runs[0])
    images = sorted(tiny_data.glob("*/*.*"))[:2]
    given = [str(images[0]), str(tmp_path / "missing.png"), str(images[1])]
    with qtbot.waitSignal(view.predictionsShown, timeout=60_000):
        view.add_images(given)
    assert [card.path for card in view.cards] == given
    layout = view._cards_layout
    shown = [layout.itemAt(i).widget() for i in range(layout.count()) if layout.itemAt(i).widget()]
    assert [w.path for w in shown if hasattr(w, "path")] == given


def test_every_setting_has_a_paragraph_in_the_guide_and_its_question_mark_opens_it(qtbot, window):
    from workbench.gui.help import guide_path, setting_anchor

    ids = set(re.findall(r'id="([^"]+)"', guide_path().read_text(encoding="utf-8")))
    missing = [path for path in all_settings() if setting_anchor(path) not in ids]
    assert not missing, f"settings without a paragraph in the guide: {missing}"
    label = window.form._forms["batch_size"].labelForField(window.form.batch_size)
    assert 'href="setting-batch_size"' in label.text()
    label.linkActivated.emit("setting-batch_size")  # what clicking the "?" does
    guide = window.help_window
    assert guide.isVisible() and guide.browser.source().fileName() == "guide.html"
    assert "Batch size" in guide.browser.toPlainText()
    assert window.guide_action.text() == "&User guide"


def test_a_small_image_is_enlarged_with_sharp_pixels(tmp_path):
    from workbench.data.decode import load_image_for_display

    checker = (np.indices((8, 8)).sum(axis=0) % 2 * 255).astype(np.uint8)
    Image.fromarray(np.stack([checker] * 3, axis=-1)).save(tmp_path / "digit.png")
    big = load_image_for_display(str(tmp_path / "digit.png"), 448)
    assert big.shape == (448, 448, 3)
    assert set(np.unique(big)) == {0, 255}  # no blurred in-between greys
    assert (big[:56, :56] == big[0, 0]).all()  # each source pixel is a 56 × 56 block
