"""torchvision's policies and random erasing inside BatchAugmenter: shapes, a draw per image, seeds."""

from __future__ import annotations

import pytest
import torch

from workbench.config import AugmentConfig
from workbench.data.augment import BatchAugmenter
from workbench.data.policies import make_policy, seeded_from

MEAN, STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
POLICIES = ("randaugment", "trivialaugment", "autoaugment")


def _augmenter(**options) -> BatchAugmenter:
    # Only the option under test: no flips, warps or jitter that would make copies differ anyway.
    plain = dict(horizontal_flip=False, rotation_range=0, width_shift_range=0, height_shift_range=0,
                 zoom_range=0, brightness=0, contrast=0, saturation=0)
    return BatchAugmenter(AugmentConfig(**{**plain, **options}), MEAN, STD)


def _picture(size: int = 32) -> torch.Tensor:
    """One uint8 image with structure (a gradient and a square), so every operation shows."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    image = torch.stack([x * 255 // size, y * 255 // size, (x + y) * 127 // size]).to(torch.uint8)
    image[:, 8:20, 10:22] = 230
    return image


def test_plain_settings_leave_the_picture_alone():
    batch = _picture().expand(4, -1, -1, -1).contiguous()
    out = _augmenter().augment(batch, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, batch.float() / 255)


@pytest.mark.parametrize("policy", POLICIES)
def test_each_policy_keeps_shapes_and_draws_per_image(policy):
    batch = _picture().expand(16, -1, -1, -1).contiguous()  # 16 identical images
    augmenter = _augmenter(policy=policy)
    out = augmenter(batch, torch.Generator().manual_seed(0))
    assert out.shape == (16, 3, 32, 32) and out.dtype == torch.float32
    distinct = {tuple(image.flatten().tolist()) for image in out}
    # One draw for the whole batch would give one distinct image; per image gives many.
    assert len(distinct) >= 8, f"{policy}: only {len(distinct)} distinct images of 16"


def test_two_identical_images_differ_under_randaugment():
    batch = _picture().expand(2, -1, -1, -1).contiguous()
    out = _augmenter(policy="randaugment", randaugment_num_ops=3, randaugment_magnitude=15).augment(
        batch, torch.Generator().manual_seed(1))
    assert not torch.equal(out[0], out[1])


def test_randaugment_magnitude_zero_changes_little_and_strength_is_passed_on():
    policy = make_policy(AugmentConfig(policy="randaugment", randaugment_num_ops=4, randaugment_magnitude=17))
    assert (policy.num_ops, policy.magnitude) == (4, 17)
    assert make_policy(AugmentConfig(policy="randaugment", enabled=False)) is None
    assert make_policy(AugmentConfig()) is None  # off by default


def test_a_seed_repeats_the_policy_and_the_global_stream_is_untouched():
    batch = _picture().expand(6, -1, -1, -1).contiguous()
    augmenter = _augmenter(policy="trivialaugment", random_erasing=0.5)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = augmenter.augment(batch, torch.Generator().manual_seed(7))
    assert torch.equal(torch.random.get_rng_state(), before)
    b = augmenter.augment(batch, torch.Generator().manual_seed(7))
    c = augmenter.augment(batch, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_random_erasing_blanks_a_rectangle_with_the_mean_colour_per_image():
    batch = _picture().expand(8, -1, -1, -1).contiguous()
    augmenter = BatchAugmenter(AugmentConfig(horizontal_flip=False, rotation_range=0, width_shift_range=0,
                                             height_shift_range=0, zoom_range=0, brightness=0, contrast=0,
                                             saturation=0, random_erasing=1.0), (0.2, 0.4, 0.6), STD)
    out = augmenter.augment(batch, torch.Generator().manual_seed(0))
    original = batch.float() / 255
    masks = []
    for image in out:
        changed = (image != original[0]).any(0)
        assert changed.any()  # probability 1: every image is erased
        colours = image[:, changed]
        torch.testing.assert_close(colours, torch.tensor([0.2, 0.4, 0.6]).view(3, 1).expand_as(colours))
        area = changed.float().mean().item()
        assert area <= 0.34
        masks.append(changed)
    assert len({tuple(m.flatten().tolist()) for m in masks}) > 4  # a rectangle of its own each
    # After normalisation the erased pixels are 0, as torchvision's reference recipe erases.
    normalised = augmenter(batch, torch.Generator().manual_seed(0))
    erased = (out[0] != original[0]).any(0)
    assert normalised[0][:, erased].abs().max() < 1e-5


def test_validation_batches_are_never_augmented():
    batch = _picture().expand(3, -1, -1, -1).contiguous()
    augmenter = _augmenter(policy="randaugment", random_erasing=1.0)
    out = augmenter(batch, train=False)
    torch.testing.assert_close(out, (batch.float() / 255 - 0.5) / 0.5)


def test_seeded_from_without_a_generator_uses_the_global_stream():
    torch.manual_seed(5)
    with seeded_from(None):
        a = torch.rand(3)
    torch.manual_seed(5)
    torch.testing.assert_close(a, torch.rand(3))
