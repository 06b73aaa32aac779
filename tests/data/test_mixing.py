"""MixUp / CutMix: soft targets that sum to 1, the loss on them, and the dominant label."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from workbench.config import AugmentConfig
from workbench.data.mixing import BatchMixer, dominant_labels


def _batch(n: int = 8, classes: int = 4):
    images = torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(n) % classes
    return images, labels


def test_off_by_default_the_batch_passes_untouched():
    images, labels = _batch()
    mixer = BatchMixer(AugmentConfig(), 4)
    assert not mixer.enabled
    out, targets = mixer(images, labels, torch.Generator().manual_seed(0))
    assert out is images and targets is labels
    assert not BatchMixer(AugmentConfig(enabled=False, mixup_alpha=0.4), 4).enabled
    assert not BatchMixer(AugmentConfig(mixup_alpha=0.4, mix_probability=0), 4).enabled


@pytest.mark.parametrize("options", [dict(mixup_alpha=0.4), dict(cutmix_alpha=1.0),
                                     dict(mixup_alpha=0.4, cutmix_alpha=1.0)])
def test_targets_are_probabilities_of_at_most_two_classes(options):
    images, labels = _batch()
    mixer = BatchMixer(AugmentConfig(**options), 4)
    generator = torch.Generator().manual_seed(3)
    for _ in range(5):
        out, targets = mixer(images, labels, generator)
        assert out.shape == images.shape and targets.shape == (8, 4)
        torch.testing.assert_close(targets.sum(1), torch.ones(8))
        assert (targets >= 0).all() and ((targets > 0).sum(1) <= 2).all()
        # Each image is a mix of itself and its neighbour in the batch (torchvision pairs by roll).
        for i in range(8):
            assert set(targets[i].nonzero().flatten().tolist()) <= {int(labels[i]), int(labels[i - 1])}


def test_mixup_blends_pixels_in_the_targets_proportion():
    images, labels = _batch()
    mixer = BatchMixer(AugmentConfig(mixup_alpha=1.0), 4)
    out, targets = mixer(images, labels, torch.Generator().manual_seed(1))
    lam = float(targets[0, labels[0]])
    torch.testing.assert_close(out[0], lam * images[0] + (1 - lam) * images[-1])


def test_cutmix_pastes_a_rectangle_whose_area_is_the_other_share():
    images, labels = _batch()
    mixer = BatchMixer(AugmentConfig(cutmix_alpha=1.0), 4)
    out, targets = mixer(images, labels, torch.Generator().manual_seed(2))
    pasted = (out[1] != images[1]).any(0).float().mean().item()
    share_of_neighbour = float(targets[1, labels[0]])
    assert pasted == pytest.approx(share_of_neighbour, abs=1 / 16)


def test_unmixed_batches_get_one_hot_targets():
    images, labels = _batch()
    out, targets = BatchMixer(AugmentConfig(mixup_alpha=0.4, mix_probability=1e-9), 4)(
        images, labels, torch.Generator().manual_seed(0))
    assert torch.equal(out, images)
    assert torch.equal(targets, nn.functional.one_hot(labels, 4).float())


def test_a_seed_repeats_the_mix():
    images, labels = _batch()
    mixer = BatchMixer(AugmentConfig(mixup_alpha=0.4, cutmix_alpha=1.0), 4)
    a = mixer(images, labels, torch.Generator().manual_seed(9))
    b = mixer(images, labels, torch.Generator().manual_seed(9))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_soft_target_loss_matches_a_hand_computation(smoothing):
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    targets = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.25, 0.75]])
    loss = nn.CrossEntropyLoss(label_smoothing=smoothing)(logits, targets)
    expected = 0.0
    for row, target in zip(logits.tolist(), targets.tolist(), strict=True):
        log_norm = math.log(sum(math.exp(v) for v in row))
        smoothed = [t * (1 - smoothing) + smoothing / 3 for t in target]  # smoothing composes
        expected += -sum(t * (v - log_norm) for t, v in zip(smoothed, row, strict=True))
    assert loss.item() == pytest.approx(expected / 2, rel=1e-6)


def test_one_hot_targets_give_the_same_loss_as_class_indices():
    logits = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    torch.testing.assert_close(criterion(logits, nn.functional.one_hot(labels, 4).float()),
                               criterion(logits, labels))


def test_dominant_label_is_the_larger_share():
    assert dominant_labels(torch.tensor([[0.3, 0.7, 0.0], [0.0, 0.0, 1.0]])).tolist() == [1, 2]
    assert dominant_labels(torch.tensor([2, 0])).tolist() == [2, 0]
