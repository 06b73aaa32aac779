"""Move to class: the file goes to the other class folder, never over an existing file."""

from __future__ import annotations

import pytest

from workbench.audit import AuditError, move_to_class, record_move
from workbench.data.scan import scan_image_folder


def test_move_renames_instead_of_overwriting(planted):
    root, p = planted
    scan = scan_image_folder(root)
    source = p["other_class"]  # a circle filed under square
    original_bytes = source.read_bytes()
    blocker = root / "circle" / source.name
    blocker.write_bytes(b"someone else's file")
    target = move_to_class(source, "circle", scan)
    assert target == root / "circle" / "circle_in_square-1.jpg"
    assert target.read_bytes() == original_bytes and not source.exists()
    assert blocker.read_bytes() == b"someone else's file"
    with pytest.raises(AuditError, match="already in 'circle'"):
        move_to_class(target, "circle", scan)
    with pytest.raises(AuditError, match="not a class"):
        move_to_class(target, "hexagon", scan)
    with pytest.raises(AuditError, match="no longer exists"):
        move_to_class(source, "star", scan)


def test_a_presplit_folder_moves_within_its_split(tmp_path, tiny_data):
    import shutil

    for split in ("train", "val"):
        shutil.copytree(tiny_data, tmp_path / split)
    scan = scan_image_folder(tmp_path)
    image = next((tmp_path / "val" / "star").glob("*.jpg"))
    assert move_to_class(image, "square", scan).parent == tmp_path / "val" / "square"


def test_record_move_follows_the_file():
    audit = {"exact_duplicates": [{"files": [{"path": "/d/a/1.jpg", "class": "a", "split": "val"}]}],
             "near_duplicates": [], "leakage": [], "moves": [],
             "label_issues": [{"path": "/d/a/1.jpg"}, {"path": "/d/a/2.jpg"}]}
    moved = record_move(audit, "/d/a/1.jpg", "/d/b/1.jpg", "b")
    assert moved["exact_duplicates"][0]["files"][0] == {"path": "/d/b/1.jpg", "class": "b", "split": "val"}
    assert moved["label_issues"] == [{"path": "/d/a/2.jpg"}]
    assert moved["moves"][0]["from"] == "/d/a/1.jpg" and audit["moves"] == []
