"""AugmentationPreview: computed off the GUI thread, debounced, stale results dropped."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

import workbench.gui.dataset.preview as preview_module
from workbench.config import AugmentConfig, TrainConfig
from workbench.data.scan import scan_image_folder
from workbench.gui.dataset.preview import AugmentationPreview


def by_name(root: QWidget, name: str) -> QWidget:
    matches = [w for w in root.findChildren(QWidget) if w.accessibleName() == name]
    assert len(matches) == 1, f"expected one widget named {name!r}, found {len(matches)}"
    return matches[0]


def config(**augment) -> TrainConfig:
    return TrainConfig(image_size=32, augment=AugmentConfig(**augment))


@pytest.fixture(scope="module")
def scan(tiny_data):
    return scan_image_folder(tiny_data)


@pytest.fixture
def preview(shown):
    return shown(AugmentationPreview())


@pytest.fixture
def worker_threads(monkeypatch):
    """Thread ids the preview function ran on (the widget calls it through its module global)."""
    threads = []
    real = preview_module.augmentation_preview

    def spy(*args, **kwargs):
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(preview_module, "augmentation_preview", spy)
    return threads


def test_preview_arrives_once_for_a_burst_and_off_the_gui_thread(preview, qtbot, scan, worker_threads):
    updates = []
    preview.previewUpdated.connect(lambda: updates.append(1))
    with qtbot.waitSignal(preview.previewUpdated, timeout=5000):
        preview.set_samples(scan.samples["all"], scan.class_names)
        preview.set_config(config(rotation_range=20))
    qtbot.wait(300)  # longer than the debounce: a second preview would have started by now
    assert len(updates) == 1 and len(worker_threads) == 1
    assert threading.get_ident() not in worker_threads

    result = preview.last_result
    assert result["source"].shape == (32, 32, 3) and result["source"].dtype == np.uint8
    assert len(result["variants"]) == 8 and len(result["random"]) == 8
    assert preview.accessibleName() == "Augmentation preview"
    for _, label in result["random"]:
        # Each random image is captioned (and named for screen readers) with its class.
        assert len([w for w in preview.findChildren(QLabel)
                    if w.accessibleName() == f"Augmented {scan.class_names[label]} image"]) >= 1


def test_changing_an_option_redraws_with_different_images(preview, qtbot, scan):
    preview.set_samples(scan.samples["all"], scan.class_names)
    with qtbot.waitSignal(preview.previewUpdated, timeout=5000):
        preview.set_config(config(rotation_range=0, horizontal_flip=False))
    before = preview.last_result
    with qtbot.waitSignal(preview.previewUpdated, timeout=5000):
        preview.set_config(config(rotation_range=45, horizontal_flip=False))
    after = preview.last_result
    assert after is not before
    np.testing.assert_array_equal(after["source"], before["source"])
    assert all(not np.array_equal(a, b) for a, b in zip(after["variants"], before["variants"], strict=True))


def test_regenerate_button_draws_anew(preview, qtbot, scan):
    preview.set_samples(scan.samples["all"], scan.class_names)
    with qtbot.waitSignal(preview.previewUpdated, timeout=5000):
        preview.set_config(config(rotation_range=30))
    before = preview.last_result
    button = by_name(preview, "Regenerate previews")
    assert button.toolTip()
    with qtbot.waitSignal(preview.previewUpdated, timeout=5000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not all(np.array_equal(a, b)
                   for a, b in zip(preview.last_result["variants"], before["variants"], strict=True))


def test_results_of_superseded_requests_are_dropped(preview, qtbot, scan, monkeypatch):
    real = preview_module.augmentation_preview
    calls = []

    def slow_first(samples, config, **kwargs):
        calls.append(config.image_size)
        if len(calls) == 1:
            time.sleep(0.4)  # still running when the next request comes in
        return real(samples, config, **kwargs)

    monkeypatch.setattr(preview_module, "augmentation_preview", slow_first)
    updates = []
    preview.previewUpdated.connect(lambda: updates.append(preview.last_result["source"].shape))
    preview.set_samples(scan.samples["all"], scan.class_names)
    preview.set_config(config())
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=2000)
    with qtbot.waitSignal(preview.previewUpdated, timeout=5000):
        preview.set_config(dataclasses.replace(config(), image_size=24))
    assert calls == [32, 24]
    assert updates == [(24, 24, 3)]  # the 32 px result arrived first but was never drawn


def test_invalid_settings_show_a_note_instead_of_a_preview(preview, qtbot, scan, worker_threads):
    preview.set_samples(scan.samples["all"], scan.class_names)
    preview.set_config(config(rotation_range=500))
    note = preview.findChild(QLabel, "note")
    qtbot.waitUntil(lambda: note.isVisible() and "Fix the augmentation settings" in note.text(),
                    timeout=2000)
    assert "rotation range" in note.text()
    assert worker_threads == [] and preview.last_result is None


def test_disabled_augmentation_is_explained(preview, qtbot, scan):
    preview.set_samples(scan.samples["all"], scan.class_names)
    with qtbot.waitSignal(preview.previewUpdated, timeout=5000):
        preview.set_config(config(enabled=False))
    note = preview.findChild(QLabel, "note")
    assert note.isVisible() and "Augmentation is off" in note.text()
    for variant in preview.last_result["variants"]:
        np.testing.assert_array_equal(variant, preview.last_result["source"])


def test_every_control_is_named_and_explained(preview):
    for button in preview.findChildren(QPushButton):
        assert button.accessibleName() and button.toolTip()
