"""Shared helpers for the data tests: tiny images written with PIL into ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _write_png(path: Path, size: int = 16, seed: int = 0, fmt: str | None = None) -> Path:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=fmt)
    return path


@pytest.fixture
def write_image():
    """``write_image(path, size=16, seed=0)`` saves a small random RGB image (format from suffix)."""
    return _write_png


@pytest.fixture
def make_tree(tmp_path):
    """``make_tree({"cat": 3, "dog": 2}, root="data")`` writes that many images per class folder.

    Nested dicts make nested folders: ``{"train": {"cat": 2}, "val": {"cat": 1}}``.
    """

    def make(spec: dict, root: str = "data", ext: str = ".png") -> Path:
        base = tmp_path / root
        base.mkdir(parents=True, exist_ok=True)
        counter = [0]

        def fill(folder: Path, node: dict) -> None:
            for name, value in node.items():
                sub = folder / name
                sub.mkdir(parents=True, exist_ok=True)
                if isinstance(value, dict):
                    fill(sub, value)
                else:
                    for i in range(value):
                        counter[0] += 1
                        _write_png(sub / f"img_{i:03d}{ext}", seed=counter[0])

        fill(base, spec)
        return base

    return make
