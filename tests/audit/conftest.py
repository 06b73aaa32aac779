"""A copy of the tiny dataset with planted duplicates, for the audit tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image


def plant_duplicates(root: Path) -> dict[str, Path]:
    """In ``root`` (a copy of tiny_data): an exact copy, a resized and recompressed JPEG copy, and
    an exact copy filed under another class. Returns the planted files and their originals."""
    circles = sorted((root / "circle").glob("*.jpg"))
    stars = sorted((root / "star").glob("*.jpg"))
    exact = root / "circle" / "exact_copy.jpg"
    shutil.copyfile(circles[0], exact)
    resized = root / "star" / "resized_copy.jpg"
    with Image.open(stars[0]) as im:
        im.convert("RGB").resize((77, 77), Image.BICUBIC).save(resized, quality=55)
    other_class = root / "square" / "circle_in_square.jpg"
    shutil.copyfile(circles[1], other_class)
    return {"exact": exact, "exact_original": circles[0], "resized": resized, "resized_original": stars[0],
            "other_class": other_class, "other_class_original": circles[1]}


@pytest.fixture
def planted(tiny_data, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(tiny_data, root)
    return root, plant_duplicates(root)
