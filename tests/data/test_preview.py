"""augmentation_preview: plain uint8 arrays, seeded, and the identity when augmentation is off."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from workbench.config import AugmentConfig, TrainConfig
from workbench.data.decode import load_image
from workbench.data.preview import augmentation_preview
from workbench.data.scan import scan_image_folder


@pytest.fixture(scope="module")
def samples(tiny_data):
    return scan_image_folder(tiny_data).samples["all"]


def _config(**augment) -> TrainConfig:
    return TrainConfig(image_size=32, augment=AugmentConfig(**augment))


def test_shapes_and_types(samples):
    result = augmentation_preview(samples, _config(), variants=5, random_count=3, seed=0)
    assert result["source"].shape == (32, 32, 3) and result["source"].dtype == np.uint8
    assert result["source_class"] == samples[0][1]
    assert len(result["variants"]) == 5
    assert all(v.shape == (32, 32, 3) and v.dtype == np.uint8 for v in result["variants"])
    assert len(result["random"]) == 3
    labels = {label for _, label in samples}
    for image, label in result["random"]:
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8
        assert label in labels
    np.testing.assert_array_equal(result["source"], load_image(samples[0][0], 32))


def test_same_seed_same_result_other_seed_differs(samples):
    config = _config(rotation_range=30)
    a = augmentation_preview(samples, config, seed=3)
    b = augmentation_preview(samples, config, seed=3)
    c = augmentation_preview(samples, config, seed=4)
    for x, y in zip(a["variants"], b["variants"], strict=True):
        np.testing.assert_array_equal(x, y)
    for (x, lx), (y, ly) in zip(a["random"], b["random"], strict=True):
        assert lx == ly
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, y) for x, y in zip(a["variants"], c["variants"], strict=True))


def test_variants_differ_when_rotation_is_on(samples):
    result = augmentation_preview(samples, _config(rotation_range=45), variants=6, seed=0)
    variants = result["variants"]
    for i in range(len(variants)):
        for j in range(i + 1, len(variants)):
            assert not np.array_equal(variants[i], variants[j])
        assert not np.array_equal(variants[i], result["source"])


def test_disabled_augmentation_returns_the_images_unchanged(samples):
    config = _config(enabled=False, rotation_range=45, brightness=0.5)
    result = augmentation_preview(samples, config, variants=3, random_count=4, seed=0)
    for variant in result["variants"]:
        np.testing.assert_array_equal(variant, result["source"])
    decoded = [load_image(path, 32) for path, _ in samples]
    for image, _ in result["random"]:
        assert any(np.array_equal(image, d) for d in decoded)


def test_undecodable_files_are_skipped(samples, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    with_broken = [(str(broken), 0), *samples[:3]]
    result = augmentation_preview(with_broken, _config(), variants=2, random_count=4, seed=0)
    np.testing.assert_array_equal(result["source"], load_image(samples[0][0], 32))
    assert result["source_class"] == samples[0][1]
    assert len(result["random"]) == 3  # the three good files; the broken one is never picked

    nothing = augmentation_preview([(str(broken), 0)], _config(), seed=0)
    assert nothing == {"source": None, "source_class": None, "variants": [], "random": [],
                       "random_mix": []}


def test_random_pick_has_no_repeats_and_follows_image_size(samples):
    config = dataclasses.replace(_config(enabled=False), image_size=24)
    result = augmentation_preview(samples[:5], config, variants=1, random_count=10, seed=1)
    assert len(result["random"]) == 5  # fewer samples than asked for: each once
    images = [image.tobytes() for image, _ in result["random"]]
    assert len(set(images)) == 5
    assert result["source"].shape == (24, 24, 3)
