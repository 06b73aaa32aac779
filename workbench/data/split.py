"""Seeded, stratified train/validation split."""

from __future__ import annotations

import random


def stratified_split(
    samples: list[tuple[str, int]], val_fraction: float, seed: int
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Split ``(path, label)`` pairs so each class keeps ``val_fraction`` of its images for validation.

    The same samples, fraction and seed always give the same split. Every class with at least two
    images gets at least one validation and one training image.
    """
    by_class: dict[int, list[tuple[str, int]]] = {}
    for item in sorted(samples):
        by_class.setdefault(item[1], []).append(item)
    rng = random.Random(seed)
    train: list[tuple[str, int]] = []
    val: list[tuple[str, int]] = []
    for label in sorted(by_class):
        items = by_class[label]
        rng.shuffle(items)
        n_val = round(len(items) * val_fraction)
        if len(items) >= 2:
            n_val = min(max(n_val, 1), len(items) - 1)
        else:
            n_val = 0
        val += items[:n_val]
        train += items[n_val:]
    return train, val
