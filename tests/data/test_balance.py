"""Imbalanced classes: inverse-frequency weights and a class-balanced draw of each epoch."""

from __future__ import annotations

import torch

from workbench.data.balance import balanced_class_weights, balanced_sample_weights, epoch_order


def test_balanced_weights_are_the_inverse_frequency():
    labels = torch.tensor([0] * 60 + [1] * 30 + [2] * 10)
    weights = balanced_class_weights(labels, 4)  # class 3 has no training images
    # n / (classes × count): 100 / (4 × 60), 100 / (4 × 30), 100 / (4 × 10); none for class 3.
    assert weights.tolist() == [100 / 240, 100 / 120, 100 / 40, 0.0] or torch.allclose(
        weights, torch.tensor([100 / 240, 100 / 120, 100 / 40, 0.0]))
    assert torch.allclose(balanced_class_weights(torch.tensor([0, 1, 0, 1]), 2), torch.ones(2))


def test_the_balanced_draw_gives_each_class_about_the_same_share_and_keeps_the_epoch_length():
    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    generator = torch.Generator().manual_seed(0)
    order = epoch_order(len(labels), generator, balanced_sample_weights(labels, 3))
    assert len(order) == len(labels)
    shares = torch.bincount(labels[order], minlength=3) / len(order)
    assert torch.allclose(shares, torch.full((3,), 1 / 3), atol=0.05), shares
    # Without weights: a permutation, every image once.
    plain = epoch_order(len(labels), torch.Generator().manual_seed(0))
    assert sorted(plain.tolist()) == list(range(len(labels)))
