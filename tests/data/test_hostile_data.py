"""Every hostile-dataset case through the scan and the decoder: skipped with a reason, or used."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hostile_data as hostile  # noqa: E402

from workbench.data.decode import decode_into, load_image  # noqa: E402
from workbench.data.scan import DatasetError, image_problem, scan_image_folder  # noqa: E402


@pytest.fixture
def mixed(tmp_path):
    return hostile.make_hostile_dataset(tmp_path / "messy photos")


def _reasons(scan) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in scan.skipped}


def test_every_unusable_file_is_skipped_with_its_reason(mixed):
    scan = scan_image_folder(mixed.root, threads=2)
    reasons = _reasons(scan)
    for name, words in mixed.skipped.items():
        assert name in reasons, f"{name} was not skipped"
        assert words in reasons[name], (name, reasons[name])
    assert set(reasons) == set(mixed.skipped)  # nothing usable was thrown away
    assert scan.class_names == mixed.class_names and scan.empty_classes == mixed.empty_classes
    assert ".thumbnails" not in scan.class_names  # a hidden folder is no class


def test_unusual_but_valid_images_are_kept_and_decode_to_rgb(mixed):
    scan = scan_image_folder(mixed.root, threads=2)
    used = {path for path, _ in scan.samples["all"]}
    for case, path in mixed.usable.items():
        assert str(path) in used, case
        out = load_image(str(path), 32)
        assert out.shape == (32, 32, 3) and out.dtype == np.uint8, case
    # Files from the class's nested folders belong to that class, not to a new one.
    cafe = scan.class_names.index(hostile.UNICODE_CLASS)
    assert dict(scan.samples["all"])[str(mixed.usable["nested subfolder"])] == cafe


def test_exif_orientation_is_honoured(tmp_path):
    # Upright the photo is red on top, blue below; ignoring EXIF it would be red left, blue right.
    out = load_image(str(hostile.exif_rotated(tmp_path)), 32).astype(int)
    assert out[:4].mean(axis=(0, 1))[0] > 200 and out[:4].mean(axis=(0, 1))[2] < 60
    assert out[-4:].mean(axis=(0, 1))[2] > 200 and out[-4:].mean(axis=(0, 1))[0] < 60


def test_transparency_greyscale_cmyk_16bit_and_one_pixel_become_sensible_rgb(tmp_path):
    rgba = load_image(str(hostile.rgba(tmp_path)), 32)
    assert (rgba[:14] == 255).all()  # transparent half composited on white
    grey = load_image(str(hostile.greyscale(tmp_path)), 32)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    cmyk = load_image(str(hostile.cmyk_jpeg(tmp_path)), 32).astype(int)
    assert np.abs(cmyk[16, 4] - [255, 0, 0]).max() <= 15 and np.abs(cmyk[16, 28] - [0, 0, 255]).max() <= 15
    deep = load_image(str(hostile.png_16bit(tmp_path)), 32)
    assert deep.max() == 255 and deep.min() == 0  # scaled to 8 bits, not clipped to white
    dot = load_image(str(hostile.one_pixel(tmp_path)), 32)
    assert (dot == [10, 200, 30]).all()
    palette = load_image(str(hostile.palette_png_transparent(tmp_path)), 32)
    assert palette.shape == (32, 32, 3)


def test_a_truncated_jpeg_passes_the_header_check_and_is_skipped_at_decoding(tmp_path):
    path = hostile.truncated_jpeg(tmp_path)
    good = hostile.good_png(tmp_path)
    assert image_problem(str(path)) is None  # the scan reads headers only
    images, kept, failed = decode_into([str(good), str(path)], 32, threads=1)
    assert kept == [0] and failed[0][0] == str(path) and "truncated" in failed[0][1]


def test_the_decompression_bomb_is_refused_from_its_header_without_allocating(tmp_path):
    path = hostile.decompression_bomb(tmp_path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reason = image_problem(str(path))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert "900 MP" in reason and "decompression bomb" in reason
    assert grown_mb < 100  # decoding it would need 2.7 GB
    assert os.path.getsize(path) < 200


@pytest.mark.parametrize(("make", "message"), [
    (hostile.single_class, "Only one class ('only_class') has usable images"),
    (hostile.no_images, "No usable images found"),
    (hostile.empty_class_folders, "No usable images found"),
])
def test_folders_that_cannot_be_trained_on_are_refused_with_why(tmp_path, make, message):
    root = make(tmp_path / "data")
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scan_image_folder(root, threads=2)


def test_no_images_refusal_counts_what_was_skipped(tmp_path):
    with pytest.raises(DatasetError) as info:
        scan_image_folder(hostile.no_images(tmp_path / "data"), threads=2)
    assert "(2 file(s) skipped, see the report)" in str(info.value)
    assert "Put the images of each class in their own subfolder" in str(info.value)


def test_a_missing_path_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        scan_image_folder(tmp_path / "nowhere", threads=2)


def test_an_unreadable_folder_is_refused_with_the_system_reason(tmp_path, monkeypatch):
    root = hostile.single_class(tmp_path / "data")
    real_scandir = os.scandir

    def refuse(path="."):
        if Path(path) == root:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    with pytest.raises(DatasetError, match="Cannot read folder .*: Permission denied"):
        scan_image_folder(root, threads=2)


def test_an_unreadable_class_subfolder_is_listed_and_the_rest_is_used(tmp_path, monkeypatch):
    root = tmp_path / "data"
    for name in ("a", "b"):
        for i in range(3):
            hostile.good_png(root / name, f"{i}.png", seed=i)
    locked = root / "a" / "private"
    hostile.good_png(locked, "x.png")
    real_scandir = os.scandir

    def refuse(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    scan = scan_image_folder(root, threads=2)
    assert scan.class_counts() == {"a": 3, "b": 3}
    assert any(s.path == str(locked) and "cannot read folder (Permission denied)" in s.reason
               for s in scan.skipped)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_chmod_000_folder_for_real(tmp_path):
    root = hostile.single_class(tmp_path / "data")
    root.chmod(0)
    try:
        if os.access(root, os.R_OK):
            pytest.skip("running as root: chmod 000 does not stop reading (the monkeypatched test covers it)")
        with pytest.raises(DatasetError, match="Cannot read folder"):
            scan_image_folder(root, threads=2)
    finally:
        root.chmod(0o755)


def test_symlink_loops_end_and_do_not_pull_other_classes_in(tmp_path):
    root = tmp_path / "data"
    for name in ("a", "b"):
        for i in range(3):
            hostile.good_png(root / name, f"{i}.png", seed=i)
    hostile.symlink_loops(root / "a", root)
    os.symlink(root, root / "c_link_to_root", target_is_directory=True)  # a "class" that is the root
    scan = scan_image_folder(root, threads=2)
    assert scan.class_counts() == {"a": 3, "b": 3}
    assert scan.empty_classes == ["c_link_to_root"]
    assert sum("loops back" in s.reason for s in scan.skipped) == 3


def test_streaming_reports_a_bad_file_once_and_never_yields_a_one_image_batch(tmp_path):
    import torch

    from workbench.data.loader import StreamingImages

    good = [hostile.good_png(tmp_path, f"{i}.png", seed=i) for i in range(3)]
    bad = hostile.truncated_jpeg(tmp_path)
    heard = []
    source = StreamingImages([(str(p), 0) for p in good] + [(str(bad), 1)], 16, workers=0,
                             on_failed=lambda path, reason: heard.append((path, reason)))
    order = torch.tensor([0, 3, 1, 2])  # batches [0, 3] and [1, 2]: the first loses its bad file
    for _epoch in range(2):
        # The image left alone joins the next batch: batch norm cannot train on one image.
        assert [len(labels) for _, labels in source.batches(order, 2)] == [3]
    assert [path for path, _ in heard] == [str(bad)] and "truncated" in heard[0][1]
