"""Duplicates and leakage: planted copies are found, distinct images are not, the cache is used."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.config import TrainConfig
from workbench.data import image_hashes
from workbench.data.duplicates import find_duplicates, find_leakage, near_pairs, split_of
from workbench.data.image_hashes import hash_files
from workbench.data.prepare import split_dataset
from workbench.data.scan import scan_image_folder


def test_planted_exact_and_resized_copies_are_found_and_nothing_else(planted):
    root, p = planted
    paths = sorted(str(f) for f in root.rglob("*.jpg"))
    groups = find_duplicates(hash_files(paths), max_distance=4)
    found = {frozenset(g.paths): g for g in groups}
    exact = frozenset({str(p["exact"]), str(p["exact_original"])})
    resized = frozenset({str(p["resized"]), str(p["resized_original"])})
    other = frozenset({str(p["other_class"]), str(p["other_class_original"])})
    assert set(found) == {exact, resized, other}  # the 64 distinct images are in no group
    assert found[exact].kind == "exact" and found[other].kind == "exact"
    assert found[resized].kind == "near" and found[resized].distance <= 4


def test_distance_zero_keeps_only_identical_hashes(planted):
    root, p = planted
    paths = sorted(str(f) for f in root.rglob("*.jpg"))
    hashes = hash_files(paths)
    exact_only = {g.paths for g in find_duplicates(hashes, max_distance=0) if g.kind == "exact"}
    assert tuple(sorted((str(p["exact"]), str(p["exact_original"])))) in exact_only
    with pytest.raises(ValueError, match="between 0 and 64"):
        find_duplicates(hashes, max_distance=65)


def test_leakage_is_a_group_split_across_train_and_val(planted):
    root, p = planted
    scan = scan_image_folder(root)
    groups = find_duplicates(hash_files([s for s, _ in scan.samples["all"]]), 4)
    for seed in range(20):  # a seed whose split puts the exact copy and its original apart
        where = split_of(split_dataset(scan, TrainConfig(data_dir=str(root), seed=seed)))
        if where[str(p["exact"])] != where[str(p["exact_original"])]:
            break
    leaks = find_leakage(groups, where)
    leaked = {frozenset(leak.group.paths) for leak in leaks}
    assert frozenset({str(p["exact"]), str(p["exact_original"])}) in leaked
    for leak in leaks:
        assert len(set(leak.splits.values())) == 2
    together = {path: "train" for path in where}
    assert find_leakage(groups, together) == []


def test_hashes_come_from_the_cache_while_a_file_is_unchanged(planted, monkeypatch):
    root, p = planted
    paths = sorted(str(f) for f in root.rglob("*.jpg"))
    first = hash_files(paths)
    monkeypatch.setattr(image_hashes, "hash_file", lambda path: pytest.fail(f"{path} was read again"))
    assert hash_files(paths) == first
    p["exact"].write_bytes(p["resized"].read_bytes())  # changed: hashed again
    monkeypatch.undo()
    again = hash_files(paths)
    assert again[str(p["exact"])] == first[str(p["resized"])]


def test_an_undecodable_file_keeps_its_content_hash(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff" + b"\0" * 100)
    result = hash_files([str(broken)])[str(broken)]
    assert result.sha256 and result.phash is None and "could not be decoded" in result.problem


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=40), st.integers(0, 64))
def test_near_pairs_match_a_pairwise_count(values, max_distance):
    expected = [(i, j, bin(a ^ b).count("1")) for i, a in enumerate(values) for j, b in enumerate(values)
                if i < j and bin(a ^ b).count("1") <= max_distance]
    assert sorted(near_pairs(np.array(values, dtype=np.uint64), max_distance)) == expected


def test_near_pairs_are_the_same_in_small_chunks(monkeypatch):
    from workbench.data import duplicates

    values = np.random.default_rng(0).integers(0, 2**63, size=60, dtype=np.uint64)
    values[7] = values[40] ^ np.uint64(0b101)  # a pair 2 bits apart in different chunks
    whole = near_pairs(values, 20)
    monkeypatch.setattr(duplicates, "_PAIRS_PER_CHUNK", 7 * 60)  # 7 rows per step
    assert near_pairs(values, 20) == whole and (7, 40, 2) in whole
