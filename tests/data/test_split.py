"""stratified_split: seeded, disjoint, complete, and per-class validation counts."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from workbench.data.split import stratified_split


def make_samples(counts: dict[int, int]) -> list[tuple[str, int]]:
    return [(f"/data/c{label}/img_{i:04d}.png", label) for label, n in counts.items() for i in range(n)]


def per_class(items: list[tuple[str, int]]) -> Counter:
    return Counter(label for _, label in items)


def test_same_seed_same_split():
    samples = make_samples({0: 30, 1: 20, 2: 7})
    assert stratified_split(samples, 0.2, seed=3) == stratified_split(samples, 0.2, seed=3)


def test_input_order_does_not_matter():
    samples = make_samples({0: 30, 1: 20, 2: 7})
    shuffled = samples[:]
    random.Random(99).shuffle(shuffled)
    train_a, val_a = stratified_split(samples, 0.25, seed=1)
    train_b, val_b = stratified_split(shuffled, 0.25, seed=1)
    assert sorted(train_a) == sorted(train_b)
    assert sorted(val_a) == sorted(val_b)


def test_input_list_is_not_modified():
    samples = make_samples({0: 10, 1: 10})
    random.Random(0).shuffle(samples)
    before = list(samples)
    stratified_split(samples, 0.3, seed=0)
    assert samples == before


def test_different_seed_different_split():
    samples = make_samples({0: 40, 1: 40})
    _, val_a = stratified_split(samples, 0.25, seed=0)
    _, val_b = stratified_split(samples, 0.25, seed=1)
    assert set(val_a) != set(val_b)
    # ...but the per-class sizes do not depend on the seed.
    assert per_class(val_a) == per_class(val_b)


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5, 0.9])
def test_disjoint_and_complete(fraction):
    samples = make_samples({0: 23, 1: 5, 2: 2, 3: 1, 4: 40})
    train, val = stratified_split(samples, fraction, seed=7)
    assert len(train) + len(val) == len(samples)
    assert set(train).isdisjoint(val)
    assert sorted(train + val) == sorted(samples)
    assert len(set(train)) == len(train) and len(set(val)) == len(val)


@pytest.mark.parametrize(
    ("n", "fraction", "expected_val"),
    [
        (10, 0.2, 2),  # round(2.0)
        (23, 0.2, 5),  # round(4.6)
        (7, 0.3, 2),  # round(2.1)
        (3, 0.2, 1),  # round(0.6)
        (40, 0.1, 4),
        (4, 0.1, 1),  # round(0.4) = 0, raised to at least one
        (2, 0.1, 1),  # at least one validation image...
        (2, 0.9, 1),  # ...and at least one training image
        (5, 0.95, 4),  # round(4.75) = 5 would leave no training image
        (1, 0.5, 0),  # a single image stays in training
    ],
)
def test_per_class_validation_count(n, fraction, expected_val):
    samples = make_samples({0: n, 1: 10})
    train, val = stratified_split(samples, fraction, seed=0)
    assert per_class(val)[0] == expected_val
    assert per_class(train)[0] == n - expected_val


def test_stratified_with_unequal_classes():
    counts = {0: 100, 1: 30, 2: 10, 3: 3}
    samples = make_samples(counts)
    train, val = stratified_split(samples, 0.2, seed=11)
    assert per_class(val) == {0: 20, 1: 6, 2: 2, 3: 1}
    assert per_class(train) == {0: 80, 1: 24, 2: 8, 3: 2}
    # Class proportions of the validation set follow the whole set's, not a random draw's.
    for label, n in counts.items():
        if n >= 10:
            assert per_class(val)[label] / len(val) == pytest.approx(n / len(samples), abs=0.02)


def test_labels_are_kept_with_their_paths():
    samples = make_samples({0: 12, 1: 9})
    train, val = stratified_split(samples, 0.3, seed=2)
    for path, label in train + val:
        assert path.startswith(f"/data/c{label}/")


def test_validation_draw_is_random_not_first_files():
    samples = make_samples({0: 50})
    _, val = stratified_split(samples, 0.2, seed=0)
    first = {p for p, _ in samples[:10]}
    assert {p for p, _ in val} != first


def test_empty_input():
    assert stratified_split([], 0.2, seed=0) == ([], [])
