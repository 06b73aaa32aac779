"""Imbalanced classes: inverse-frequency class weights and a class-balanced draw of an epoch."""

from __future__ import annotations

import torch


def class_counts(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Images per class (float64), every class present even when it has none."""
    return torch.bincount(labels.cpu(), minlength=num_classes).to(torch.float64)


def balanced_class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``n / (classes × count_c)`` per class (scikit-learn's "balanced"): 1 for every class of a
    balanced set, and a class's summed weight is the same for all of them. A class without
    training images gets 0 (it can contribute no loss anyway)."""
    counts = class_counts(labels, num_classes)
    weights = torch.where(counts > 0, counts.sum() / (num_classes * counts.clamp_min(1)),
                          torch.zeros_like(counts))
    return weights.float()


def balanced_sample_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Each image's chance of being drawn, so every class is drawn equally often (what
    torch's WeightedRandomSampler is given): ``1 / count`` of its class."""
    counts = class_counts(labels, num_classes)
    return (1.0 / counts.clamp_min(1))[labels.cpu()]


def epoch_order(n: int, generator: torch.Generator,
                sample_weights: torch.Tensor | None = None) -> torch.Tensor:
    """The order an epoch visits the training images in: a permutation, or with
    ``sample_weights`` ``n`` draws with replacement (WeightedRandomSampler's draw, from the
    run's own generator, so a resume continues the same sequence)."""
    if sample_weights is None:
        return torch.randperm(n, generator=generator)
    return torch.multinomial(sample_weights, n, replacement=True, generator=generator)
