"""The preview widget captions mixed images with both classes and their shares."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

from workbench.config import AugmentConfig, TrainConfig
from workbench.data.scan import scan_image_folder
from workbench.gui.dataset.preview import AugmentationPreview


@pytest.fixture
def preview(shown):
    return shown(AugmentationPreview())


def test_mixed_images_are_captioned_with_their_classes_shares(preview, qtbot, tiny_data):
    scan = scan_image_folder(tiny_data)
    preview.set_samples(scan.samples["all"], scan.class_names)
    with qtbot.waitSignal(preview.previewUpdated, timeout=10000):
        # MixUp alone: every per-image option off, so only mixing makes the preview non-plain.
        only_mixing = AugmentConfig(horizontal_flip=False, rotation_range=0, width_shift_range=0,
                                    height_shift_range=0, zoom_range=0, brightness=0, contrast=0,
                                    saturation=0, mixup_alpha=1.0)
        preview.set_config(TrainConfig(image_size=32, augment=only_mixing))
    names = [w.accessibleName() for w in preview.findChildren(QLabel)]
    mixed = [n for n in names if n.startswith("Mixed image: ")]
    assert mixed and all("%" in n for n in mixed)
    titles = [w.text() for w in preview.findChildren(QLabel)]
    assert any("mixed as one training batch (MixUp / CutMix)" in t for t in titles)
    note = next(w for w in preview.findChildren(QLabel) if w.objectName() == "note")
    assert not note.isVisible()  # no "Augmentation is off" note: mixing is augmentation
