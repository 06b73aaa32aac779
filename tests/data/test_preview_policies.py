"""The augmentation preview shows the policies, random erasing and MixUp / CutMix as training applies them."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.config import AugmentConfig, TrainConfig
from workbench.data.preview import augmentation_preview
from workbench.data.scan import scan_image_folder

PLAIN = dict(horizontal_flip=False, rotation_range=0, width_shift_range=0, height_shift_range=0,
             zoom_range=0, brightness=0, contrast=0, saturation=0)


@pytest.fixture(scope="module")
def samples(tiny_data):
    return scan_image_folder(tiny_data).samples["all"]


def _preview(samples, **augment):
    config = TrainConfig(image_size=32, augment=AugmentConfig(**{**PLAIN, **augment}))
    return augmentation_preview(samples, config, variants=6, random_count=8, seed=0)


def _distinct(images) -> int:
    return len({image.tobytes() for image in images})


@pytest.mark.parametrize("options", [dict(policy="randaugment"), dict(policy="trivialaugment"),
                                     dict(policy="autoaugment"), dict(random_erasing=1.0)])
def test_each_policy_shows_as_different_variants_of_the_same_image(samples, options):
    plain = _preview(samples)
    assert _distinct(plain["variants"]) == 1  # nothing on: six copies of the source
    shown = _preview(samples, **options)
    assert _distinct(shown["variants"]) >= 4
    assert shown["random_mix"] == [[] for _ in shown["random"]]  # no mixing: one class each


@pytest.mark.parametrize("options", [dict(mixup_alpha=1.0), dict(cutmix_alpha=1.0)])
def test_mixing_shows_in_the_random_batch_with_each_images_shares(samples, options):
    plain, mixed = _preview(samples), _preview(samples, **options)
    # The same images are picked (the seed drives the pick); mixing changes them.
    pairs = zip(plain["random"], mixed["random"], strict=True)
    assert not all(np.array_equal(a, b) for (a, _), (b, _) in pairs)
    assert _distinct(mixed["variants"]) == 1  # the single image's variants are never mixed
    for (_, label), shares in zip(mixed["random"], mixed["random_mix"], strict=True):
        assert 1 <= len(shares) <= 2 and sum(s for _, s in shares) == pytest.approx(1.0)
        assert label == shares[0][0]  # the caption's class is the dominant one
    assert any(len(shares) == 2 for shares in mixed["random_mix"])
