"""Duplicate images in a dataset, and the duplicates a split puts on both sides (leakage).

Files with the same bytes are exact duplicates. Files whose perceptual hashes
(:mod:`workbench.data.image_hashes`) differ in at most ``max_distance`` of their 64 bits are
near-duplicates: the same picture resized, recompressed or slightly recoloured. Both relations
are joined into groups (connected components), so every file is in at most one group; a group
whose files are all identical is "exact", any other "near".

A group with members in different splits (train / val / test) is leakage: the model is scored on
a picture it trained on, and validation or test figures look better than they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.data.image_hashes import HASH_BITS, FileHash, hash_files

DEFAULT_MAX_DISTANCE = 2  # of 64 bits (always even: a phash has 32 bits set): copies measure 0-2
_PAIRS_PER_CHUNK = 1 << 22  # distances computed per numpy step (32 MB of uint64)


@dataclass(frozen=True)
class DuplicateGroup:
    """``paths`` sorted; ``distance`` the largest phash distance between two of them (0: exact)."""

    kind: str  # "exact" or "near"
    paths: tuple[str, ...]
    distance: int


@dataclass(frozen=True)
class Leak:
    group: DuplicateGroup
    splits: dict[str, str]  # path → its split, for the group's files that are in one


def near_pairs(hashes: np.ndarray, max_distance: int) -> list[tuple[int, int, int]]:
    """``(i, j, distance)`` for i < j whose 64-bit hashes differ in at most ``max_distance`` bits."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    n = len(hashes)
    pairs: list[tuple[int, int, int]] = []
    rows = max(1, _PAIRS_PER_CHUNK // max(n, 1))
    for start in range(0, n, rows):
        block = hashes[start:start + rows, None] ^ hashes[None, start:]
        distance = np.bitwise_count(block)
        # Only j > i: the block's column c is hash start + c, its row r is hash start + r.
        upper = np.triu(np.ones(distance.shape, dtype=bool), k=1)
        for r, c in zip(*np.nonzero((distance <= max_distance) & upper), strict=True):
            pairs.append((start + int(r), start + int(c), int(distance[r, c])))
    return pairs


def find_duplicates(hashes: Mapping[str, FileHash], max_distance: int = DEFAULT_MAX_DISTANCE
                    ) -> list[DuplicateGroup]:
    """The duplicate groups among ``hashes`` (path → hashes), largest first."""
    if not 0 <= max_distance <= HASH_BITS:
        raise ValueError(f"the near-duplicate distance must be between 0 and {HASH_BITS}, got {max_distance}")
    paths = sorted(p for p, h in hashes.items() if h.sha256 is not None)
    parent = list(range(len(paths)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        parent[root(i)] = root(j)

    first_with: dict[str, int] = {}  # one file per content stands for its exact copies
    for i, path in enumerate(paths):
        sha = hashes[path].sha256
        if sha in first_with:
            join(i, first_with[sha])
        else:
            first_with[sha] = i
    distinct = [i for i in first_with.values() if hashes[paths[i]].phash is not None]
    phashes = np.array([hashes[paths[i]].phash for i in distinct], dtype=np.uint64)
    for a, b, _d in near_pairs(phashes, max_distance):
        join(distinct[a], distinct[b])

    members: dict[int, list[int]] = {}
    for i in range(len(paths)):
        members.setdefault(root(i), []).append(i)
    groups = []
    for indices in members.values():
        if len(indices) < 2:
            continue
        group_paths = tuple(paths[i] for i in indices)
        contents = {hashes[p].sha256: hashes[p].phash for p in group_paths}
        if len(contents) == 1:
            groups.append(DuplicateGroup("exact", group_paths, 0))
        else:
            known = np.array([h for h in contents.values() if h is not None], dtype=np.uint64)
            spread = int(np.bitwise_count(known[:, None] ^ known[None, :]).max()) if len(known) else 0
            groups.append(DuplicateGroup("near", group_paths, spread))
    return sorted(groups, key=lambda g: (-len(g.paths), g.paths))


def find_leakage(groups: Sequence[DuplicateGroup], split_of: Mapping[str, str]) -> list[Leak]:
    """The groups whose files fall in more than one split (``split_of``: path → split name)."""
    leaks = []
    for group in groups:
        splits = {p: split_of[p] for p in group.paths if p in split_of}
        if len(set(splits.values())) > 1:
            leaks.append(Leak(group, splits))
    return leaks


def split_of(split) -> dict[str, str]:
    """path → "train" / "val" / "test" for a :class:`~workbench.data.prepare.DataSplit`."""
    return {path: name for name, items in zip(("train", "val", "test"), split, strict=True)
            for path, _ in items}


def describe_leakage(leaks: Sequence[Leak], limit: int = 3) -> list[str]:
    """Log lines warning about ``leaks`` (empty when there are none)."""
    if not leaks:
        return []
    exact = sum(leak.group.kind == "exact" for leak in leaks)
    lines = [f"Warning: leakage: {len(leaks)} group(s) of duplicate images cross the train/validation/test "
             f"split ({exact} exact, {len(leaks) - exact} near-duplicate): the model is scored on pictures "
             "it trains on, so validation and test figures look better than they are. Remove or merge "
             "the copies (`workbench audit` lists them all)."]
    for leak in leaks[:limit]:
        lines.append("  " + " = ".join(f"{path} ({split})" for path, split in sorted(leak.splits.items())))
    if len(leaks) > limit:
        lines.append(f"  … and {len(leaks) - limit} more")
    return lines


def leakage_in(split, max_distance: int = DEFAULT_MAX_DISTANCE,
               progress: Callable[[int, int], None] | None = None) -> list[Leak]:
    """The leakage of a :class:`~workbench.data.prepare.DataSplit`, hashing through the cache."""
    where = split_of(split)
    return find_leakage(find_duplicates(hash_files(list(where), progress=progress), max_distance), where)
