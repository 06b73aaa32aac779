"""DatasetPanel: counts chart, warnings, skipped files and thumbnails decoded off the GUI thread."""

from __future__ import annotations

import shutil
import threading

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QLabel, QTableWidget, QWidget

import workbench.gui.dataset.panel as dataset_panel
from workbench.data.scan import DatasetError, scan_image_folder
from workbench.gui.dataset.panel import THUMBNAILS_PER_CLASS, DatasetPanel


def by_name(root: QWidget, name: str) -> QWidget:
    matches = [w for w in root.findChildren(QWidget) if w.accessibleName() == name]
    assert len(matches) == 1, f"expected one widget named {name!r}, found {len(matches)}"
    return matches[0]


def loaded_thumbnails(panel: DatasetPanel) -> list[QLabel]:
    return [label for label in panel.findChildren(QLabel, "thumbnail") if not label.pixmap().isNull()]


@pytest.fixture
def panel(shown):
    return shown(DatasetPanel(), size=(900, 900))


@pytest.fixture
def messy_data(tiny_data, tmp_path):
    """tiny_data plus three files the scan skips and a class folder with no images."""
    root = tmp_path / "messy"
    shutil.copytree(tiny_data, root)
    (root / "circle" / "notes.txt").write_text("not an image")
    (root / "square" / "empty.png").write_bytes(b"")
    (root / "star" / "broken.jpg").write_bytes(b"garbage, not a jpeg")
    (root / "zebra").mkdir()
    (root / "zebra" / "readme.md").write_text("nothing here")
    return root


def test_chart_header_and_thumbnails(panel, qtbot, tiny_data):
    scan = scan_image_folder(tiny_data)
    panel.show_scan(scan)

    chart = by_name(panel, "Images per class")
    bars = [item for item in chart.getPlotItem().items if isinstance(item, pg.BarGraphItem)]
    assert len(bars) == 1
    assert list(bars[0].opts["height"]) == list(scan.class_counts().values())
    ticks = chart.getPlotItem().getAxis("bottom")._tickLevels[0]  # the ticks set by setTicks
    assert [text for _, text in ticks] == scan.class_names

    header = panel.findChild(QLabel, "header").text()
    assert header == f"{scan.num_images} images in {len(scan.class_names)} classes — {scan.root}"
    assert not panel.findChild(QLabel, "imbalanceWarning").isVisible()
    assert not panel.findChild(QLabel, "error").isVisible()
    assert by_name(panel, "Skipped files").rowCount() == 0

    expected = len(scan.class_names) * THUMBNAILS_PER_CLASS
    qtbot.waitUntil(lambda: len(loaded_thumbnails(panel)) == expected, timeout=5000)
    assert all(label.pixmap().width() == 64 for label in loaded_thumbnails(panel))


def test_thumbnails_are_decoded_off_the_gui_thread(panel, qtbot, tiny_data, monkeypatch):
    threads = []
    real = dataset_panel.load_image

    def spy(path, size):
        threads.append(threading.get_ident())
        return real(path, size)

    monkeypatch.setattr(dataset_panel, "load_image", spy)
    panel.show_scan(scan_image_folder(tiny_data))
    qtbot.waitUntil(lambda: len(loaded_thumbnails(panel)) == 4 * THUMBNAILS_PER_CLASS, timeout=5000)
    assert threads and threading.get_ident() not in threads


def test_skipped_files_and_empty_classes(panel, messy_data):
    scan = scan_image_folder(messy_data)
    assert len(scan.skipped) == 4 and scan.empty_classes == ["zebra"]
    panel.show_scan(scan)

    table = by_name(panel, "Skipped files")
    assert isinstance(table, QTableWidget) and table.isVisible()
    assert table.rowCount() == len(scan.skipped)
    rows = {(table.item(r, 0).toolTip(), table.item(r, 1).text()) for r in range(table.rowCount())}
    assert rows == {(s.path, s.reason) for s in scan.skipped}
    assert table.item(0, 0).text() != table.item(0, 0).toolTip()  # shown relative to the folder

    empty = panel.findChild(QLabel, "emptyClasses")
    assert empty.isVisible() and "zebra" in empty.text()


def test_imbalance_warning(panel, tiny_data, tmp_path):
    root = tmp_path / "imbalanced"
    for name, count in (("big", 12), ("small", 4)):
        (root / name).mkdir(parents=True)
        for path in sorted((tiny_data / "circle").iterdir())[:count]:
            shutil.copy(path, root / name / path.name)
    scan = scan_image_folder(root)
    panel.show_scan(scan)

    warning = panel.findChild(QLabel, "imbalanceWarning")
    assert warning.isVisible()
    assert "largest/smallest = 3.0" in warning.text()
    assert "'big' has 12" in warning.text() and "'small' has 4" in warning.text()


def test_show_error_replaces_everything(panel, qtbot, tiny_data, tmp_path):
    panel.show_scan(scan_image_folder(tiny_data))
    one_class = tmp_path / "one_class"
    shutil.copytree(tiny_data / "circle", one_class / "circle")
    with pytest.raises(DatasetError) as info:
        scan_image_folder(one_class)
    panel.show_error(str(info.value))

    error = panel.findChild(QLabel, "error")
    assert error.isVisible() and error.text() == str(info.value)
    assert "cannot be trained on" in panel.findChild(QLabel, "header").text()
    assert not by_name(panel, "Images per class").isVisible()
    assert not by_name(panel, "Skipped files").isVisible()
    # Thumbnails of the replaced scan are dropped, even those still being decoded.
    qtbot.wait(200)
    assert panel.findChildren(QLabel, "thumbnail") == []

    panel.clear()
    assert not error.isVisible()


def test_the_imbalance_warning_sets_the_remedies_in_the_windows_form_in_one_click(window, qtbot, tiny_data,
                                                                                   tmp_path):
    root = tmp_path / "imbalanced"
    for name, count in (("big", 12), ("small", 4)):
        (root / name).mkdir(parents=True)
        for path in sorted((tiny_data / "circle").iterdir())[:count]:
            shutil.copy(path, root / name / path.name)
    with qtbot.waitSignal(window.datasetOpened, timeout=30_000):
        window.open_dataset(root)
    panel = window.dataset_panel
    weights, sampler = (by_name(panel, "Use balanced class weights"), by_name(panel, "Use balanced sampler"))
    assert weights.isVisible() and sampler.isVisible()
    assert window.form.config().class_weights == "none" and not window.form.config().balanced_sampler

    weights.click()
    assert window.form.config().class_weights == "balanced" and not weights.isEnabled()
    sampler.click()
    assert window.form.config().balanced_sampler
    assert "count more" in window.form.notes_label.text()  # both on: the form notes the double correction

    with qtbot.waitSignal(window.datasetOpened, timeout=30_000):
        window.open_dataset(tiny_data)  # balanced: no warning, no remedies
    assert not weights.isVisible() and not sampler.isVisible()


class _ProgressRecorder(QObject):
    """Receives the tab's progress as the panel does (queued): what it says, on which thread."""

    def __init__(self, panel):
        super().__init__()
        self.panel, self.calls = panel, []

    @Slot(int, int)
    def record(self, done, total):
        on_gui_thread = threading.current_thread() is threading.main_thread()
        self.calls.append((done, total, on_gui_thread, self.panel._header.text()))


def test_a_large_folders_scan_shows_its_progress_then_the_result(qtbot, window, tiny_data, monkeypatch):
    import workbench.gui.dataset.tab as tab_module

    monkeypatch.setattr(tab_module, "PROGRESS_FROM_FILES", 1)  # tiny_data counts as large here
    tab = window.dataset_tab
    recorder = _ProgressRecorder(tab.panel)
    tab.scanProgress.connect(recorder.record, Qt.ConnectionType.QueuedConnection)
    with qtbot.waitSignal(window.datasetOpened, timeout=30_000):
        window.open_dataset(tiny_data)
    calls = recorder.calls
    assert calls and calls[0][:2] == (0, 64) and calls[-1][:2] == (64, 64), calls
    assert all(on_gui_thread for _, _, on_gui_thread, _ in calls)  # queued to the GUI thread
    assert calls[0][3] == "Scanning… 0 of 64 files checked"  # what the panel showed meanwhile
    assert tab.panel._header.text().startswith("64 images in 4 classes")  # the result replaces it
    tab.panel.show_progress(1234, 100_000)
    assert tab.panel._header.text() == "Scanning… 1,234 of 100,000 files checked"
