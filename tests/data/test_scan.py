"""scan_image_folder: classes as torchvision's ImageFolder names them, and bad files skipped with a reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from torchvision.datasets import ImageFolder

from workbench.data.scan import DatasetError, DatasetScan, image_problem, scan_image_folder


def reasons_by_name(scan: DatasetScan) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in scan.skipped}


# --- classes and counts -------------------------------------------------------------------------


def test_class_indices_match_torchvision_imagefolder(make_tree):
    # Names chosen so a naive sort (case-folded, numeric) would order them differently.
    root = make_tree({"dog": 2, "Cat": 1, "10": 1, "9": 2, "bird_2": 1, "bird": 3})
    scan = scan_image_folder(root, threads=2)
    expected = ImageFolder(str(root)).class_to_idx
    assert {name: i for i, name in enumerate(scan.class_names)} == expected
    assert scan.class_names == ["10", "9", "Cat", "bird", "bird_2", "dog"]


def test_sample_labels_match_imagefolder_samples(make_tree):
    root = make_tree({"b": 2, "a": 3, "c": 1})
    scan = scan_image_folder(root, threads=2)
    folder = ImageFolder(str(root))
    assert sorted(scan.samples["all"]) == sorted(folder.samples)


def test_counts_per_class(make_tree):
    root = make_tree({"apple": 4, "banana": 2, "cherry": 3})
    scan = scan_image_folder(root, threads=2)
    assert not scan.presplit
    assert list(scan.samples) == ["all"]
    assert scan.class_counts() == {"apple": 4, "banana": 2, "cherry": 3}
    assert scan.num_images == 9
    assert scan.skipped == []
    assert scan.empty_classes == []
    for path, label in scan.samples["all"]:
        assert Path(path).parent.name == scan.class_names[label]


# --- pre-split folders --------------------------------------------------------------------------


def test_presplit_train_val_detected(make_tree):
    root = make_tree({"train": {"a": 3, "b": 2}, "val": {"a": 1, "b": 1}})
    scan = scan_image_folder(root, threads=2)
    assert scan.presplit
    assert set(scan.samples) == {"train", "val"}
    assert scan.class_names == ["a", "b"]
    assert scan.class_counts("train") == {"a": 3, "b": 2}
    assert scan.class_counts("val") == {"a": 1, "b": 1}
    assert all(f"{os.sep}train{os.sep}" in p for p, _ in scan.samples["train"])
    assert all(f"{os.sep}val{os.sep}" in p for p, _ in scan.samples["val"])
    assert "already split" in scan.report()
    assert scan.to_dict()["layout"] == "train/val folders"


def test_presplit_with_test_folder(make_tree):
    root = make_tree({"train": {"a": 2, "b": 2}, "val": {"a": 1, "b": 1}, "test": {"a": 1, "b": 2}})
    scan = scan_image_folder(root, threads=2)
    assert scan.presplit
    assert set(scan.samples) == {"train", "val", "test"}
    assert scan.class_counts("test") == {"a": 1, "b": 2}


@pytest.mark.parametrize("alias", ["validation", "valid", "Validation"])
def test_val_aliases(make_tree, alias):
    root = make_tree({"train": {"a": 2, "b": 2}, alias: {"a": 1, "b": 1}})
    scan = scan_image_folder(root, threads=2)
    assert scan.presplit
    assert set(scan.samples) == {"train", "val"}
    assert all(f"{os.sep}{alias}{os.sep}" in p for p, _ in scan.samples["val"])


def test_train_without_val_is_not_presplit(make_tree):
    # "train" alone is just a class name.
    root = make_tree({"train": 2, "other": 2})
    scan = scan_image_folder(root, threads=2)
    assert not scan.presplit
    assert scan.class_names == ["other", "train"]


def test_presplit_val_class_missing_from_train_is_skipped(make_tree):
    root = make_tree({"train": {"a": 2, "b": 2}, "val": {"a": 1, "b": 1, "zebra": 1}})
    scan = scan_image_folder(root, threads=2)
    assert scan.class_names == ["a", "b"]
    assert len(scan.samples["val"]) == 2
    assert any("zebra" in s.reason for s in scan.skipped)


def test_presplit_empty_val_raises(make_tree):
    root = make_tree({"train": {"a": 2, "b": 2}, "val": {"a": 0}})
    with pytest.raises(DatasetError, match="val"):
        scan_image_folder(root, threads=2)


# --- bad files ----------------------------------------------------------------------------------


def test_bad_files_are_skipped_with_reasons(make_tree):
    root = make_tree({"a": 2, "b": 2})
    (root / "a" / "zero.jpg").write_bytes(b"")
    (root / "a" / "text.jpg").write_text("this is not a jpeg\n")
    (root / "b" / "notes.txt").write_text("hello")
    (root / "b" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "b" / ".hidden.png").write_bytes((root / "b" / "img_000.png").read_bytes())
    (root / "b" / "noext").write_bytes(b"abc")
    scan = scan_image_folder(root, threads=2)

    assert scan.class_counts() == {"a": 2, "b": 2}
    reasons = reasons_by_name(scan)
    assert set(reasons) == {"zero.jpg", "text.jpg", "notes.txt", ".DS_Store", ".hidden.png", "noext"}
    assert "empty" in reasons["zero.jpg"] and "0 bytes" in reasons["zero.jpg"]
    assert "not an image" in reasons["text.jpg"]
    assert "not an image" in reasons["notes.txt"] and ".txt" in reasons["notes.txt"]
    assert "hidden" in reasons[".DS_Store"]
    assert "hidden" in reasons[".hidden.png"]
    assert "none" in reasons["noext"]
    usable = {Path(p).name for p, _ in scan.samples["all"]}
    assert usable.isdisjoint(reasons)


def test_ds_store_at_root_and_hidden_class_folder_ignored(make_tree):
    root = make_tree({"a": 2, "b": 2, ".git": 3})
    (root / ".DS_Store").write_bytes(b"junk")
    (root / "README.txt").write_text("top-level files are not classes")
    scan = scan_image_folder(root, threads=2)
    assert scan.class_names == ["a", "b"]
    assert scan.num_images == 4


def test_image_over_megapixel_limit_is_skipped(make_tree, write_image):
    root = make_tree({"a": 2, "b": 2})
    write_image(root / "a" / "big.png", size=32)  # 1024 px
    scan = scan_image_folder(root, max_megapixels=0.0005, threads=2)  # 500 px limit
    reasons = reasons_by_name(scan)
    assert set(reasons) == {"big.png"}
    assert "too large" in reasons["big.png"] and "32×32" in reasons["big.png"]
    assert scan.class_counts() == {"a": 2, "b": 2}


def test_image_problem_direct(tmp_path, write_image):
    good = write_image(tmp_path / "good.png", size=16)
    assert image_problem(str(good)) is None
    assert image_problem(str(good), max_megapixels=0.0001) is not None  # 256 px > 100 px
    (tmp_path / "empty.png").write_bytes(b"")
    assert "empty" in image_problem(str(tmp_path / "empty.png"))
    # A file that vanished between listing and checking is reported, not raised.
    assert image_problem(str(tmp_path / "missing.png")).startswith("unreadable")


def test_nested_subfolders_are_included(make_tree, write_image):
    root = make_tree({"a": 1, "b": 2})
    write_image(root / "a" / "sub" / "deeper" / "x.png", seed=5)
    write_image(root / "a" / "sub" / "y.png", seed=6)
    write_image(root / "a" / ".cache" / "z.png", seed=7)  # hidden subfolder: not walked
    scan = scan_image_folder(root, threads=2)
    assert scan.class_counts() == {"a": 3, "b": 2}
    a = scan.class_names.index("a")
    names = sorted(Path(p).name for p, label in scan.samples["all"] if label == a)
    assert names == ["img_000.png", "x.png", "y.png"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop_in_class_folder_does_not_hang(make_tree):
    root = make_tree({"a": 2, "b": 2})
    try:
        os.symlink(root / "a", root / "a" / "loop", target_is_directory=True)
    except OSError:
        pytest.skip("cannot create symlinks here")
    scan = scan_image_folder(root, threads=2)
    assert scan.class_counts() == {"a": 2, "b": 2}
    assert any("loop" in s.reason for s in scan.skipped)


def test_empty_class_folder_listed_and_left_out(make_tree):
    root = make_tree({"a": 2, "b": 0, "c": 2})
    (root / "b" / "broken.jpg").write_bytes(b"")  # a class of only unusable files is empty too
    scan = scan_image_folder(root, threads=2)
    assert scan.class_names == ["a", "c"]
    assert scan.empty_classes == ["b"]
    assert {label for _, label in scan.samples["all"]} == {0, 1}
    assert "'b'" in scan.report()


# --- refusals -----------------------------------------------------------------------------------


def test_single_usable_class_raises(make_tree):
    root = make_tree({"only": 3, "empty": 0})
    with pytest.raises(DatasetError, match="two"):
        scan_image_folder(root, threads=2)


def test_no_images_raises(make_tree):
    root = make_tree({"a": 0, "b": 0})
    (root / "a" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="No usable images"):
        scan_image_folder(root, threads=2)


def test_no_subfolders_raises(tmp_path, write_image):
    write_image(tmp_path / "loose.png")
    with pytest.raises(DatasetError):
        scan_image_folder(tmp_path, threads=2)


def test_missing_folder_raises(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        scan_image_folder(tmp_path / "nope", threads=2)


def test_file_instead_of_folder_raises(tmp_path, write_image):
    path = write_image(tmp_path / "x.png")
    with pytest.raises(DatasetError, match="not a folder"):
        scan_image_folder(path, threads=2)


def test_dataset_error_is_value_error():
    assert issubclass(DatasetError, ValueError)


# --- report and serialisation -------------------------------------------------------------------


def test_report_mentions_skipped_files_and_imbalance(make_tree):
    root = make_tree({"big": 10, "small": 2})
    (root / "small" / "bad.jpg").write_text("nope")
    scan = scan_image_folder(root, threads=2)
    assert scan.imbalance_ratio == pytest.approx(5.0)
    text = scan.report()
    assert "12 images in 2 classes" in text
    assert "imbalanced" in text and "5.0" in text
    assert "Skipped 1 file(s)" in text
    assert "bad.jpg" in text


def test_report_balanced_has_no_warning(make_tree):
    scan = scan_image_folder(make_tree({"a": 3, "b": 3}), threads=2)
    assert scan.imbalance_ratio == 1.0
    text = scan.report()
    assert "imbalanced" not in text and "Skipped" not in text


def test_to_dict_is_json_serialisable(make_tree):
    root = make_tree({"a": 3, "b": 1, "c": 0})
    (root / "a" / "bad.txt").write_text("x")
    scan = scan_image_folder(root, threads=2)
    data = json.loads(json.dumps(scan.to_dict()))
    assert data["class_names"] == ["a", "b"]
    assert data["images_per_class"] == {"a": 3, "b": 1}
    assert data["splits"] == {"all": 4}
    assert data["empty_classes"] == ["c"]
    assert data["imbalance_ratio"] == 3.0
    assert data["layout"] == "one folder per class"
    assert [Path(s["path"]).name for s in data["skipped"]] == ["bad.txt"]
    assert data["skipped"][0]["reason"]


def test_upper_case_extensions_are_images(make_tree, write_image):
    root = make_tree({"a": 1, "b": 1})
    write_image(root / "a" / "SHOUT.PNG", fmt="PNG")
    write_image(root / "b" / "photo.JPEG", fmt="JPEG")
    scan = scan_image_folder(root, threads=2)
    assert scan.class_counts() == {"a": 2, "b": 2}
    assert sorted(scan.samples["all"]) == sorted(ImageFolder(str(root)).samples)


def test_the_image_extensions_are_torchvisions():
    # Spelled out in scan.py so that scanning a folder does not import torchvision (seconds).
    from torchvision.datasets.folder import IMG_EXTENSIONS as TORCHVISION

    from workbench.data.scan import IMG_EXTENSIONS

    assert IMG_EXTENSIONS == TORCHVISION
