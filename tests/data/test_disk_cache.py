"""The disk cache of decoded images: reuse across runs, keys, kills, eviction, concurrent fills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.config import TrainConfig
from workbench.data import disk_cache
from workbench.data.loader import CachedImages, MappedImages
from workbench.data.prepare import prepare_data
from workbench.data.scan import scan_image_folder

ROOT = Path(__file__).resolve().parents[2]


def _files(folder: Path) -> list[tuple[str, int, int]]:
    paths = sorted(str(p) for p in folder.rglob("*.png"))
    return [(p, os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in paths]


def test_over_budget_a_run_reads_the_disk_cache_and_the_next_run_decodes_nothing(tiny_data):
    first, second = [], []
    config = TrainConfig(data_dir=str(tiny_data), image_size=32, workers=1, cache_budget_mb=0)
    data = prepare_data(config, log=first.append)
    assert isinstance(data.train, MappedImages) and not data.train.streaming
    assert any(line.startswith("Decoding 64 images at 32 px into the disk cache") for line in first)
    assert data.decode_seconds > 0

    again = prepare_data(config, log=second.append)
    assert any("found in the disk cache" in line and "nothing to decode" in line for line in second)
    assert not any(line.startswith("Decoding") for line in second) and again.decode_seconds == 0.0

    # The same pixels, labels and order as the in-memory cache of the same images.
    memory = CachedImages(list(zip(data.train.paths, data.train.labels.tolist(), strict=True)), 32)
    order = torch.randperm(len(memory), generator=torch.Generator().manual_seed(0))
    for (a, la), (b, lb) in zip(again.train.batches(order, 8), memory.batches(order, 8), strict=True):
        assert torch.equal(a, b) and torch.equal(la, lb)
    assert len(disk_cache.list_entries()) == 1  # train and validation share one entry


def test_the_key_changes_when_a_file_changes(make_tree, write_image):
    folder = make_tree({"a": 3, "b": 3})
    before = _files(folder)
    key = disk_cache.cache_key(before, 16)
    assert disk_cache.cache_key(_files(folder), 16) == key  # the same folder: the same entry
    assert disk_cache.cache_key(before, 24) != key  # another image size
    changed = folder / "a" / "img_001.png"
    write_image(changed, seed=99)
    os.utime(changed, ns=(1, 1))  # even a file put back with an old time is a change
    assert disk_cache.cache_key(_files(folder), 16) != key


def test_a_changed_file_is_decoded_again_with_its_new_pixels(make_tree, write_image):
    folder = make_tree({"a": 3, "b": 3})
    config = TrainConfig(data_dir=str(folder), image_size=16, workers=0, cache_budget_mb=0,
                         val_fraction=0.0, early_stopping=False)
    old = prepare_data(config, log=lambda _: None)
    changed = str(folder / "a" / "img_001.png")
    write_image(Path(changed), seed=99)
    os.utime(changed, ns=(10**18, 10**18))
    lines = []
    new = prepare_data(config, log=lines.append)
    assert any(line.startswith("Decoding 6 images") for line in lines)
    row = new.train.paths.index(changed)
    pixels = new.train.images[new.train.rows[row]].numpy()
    assert not np.array_equal(pixels, old.train.images[old.train.rows[row]].numpy())
    from workbench.data.decode import load_image

    assert np.array_equal(pixels, load_image(changed, 16).transpose(2, 0, 1))


# A child process that fills the cache of FOLDER at 16 px, announcing the fill's first progress by
# creating MARKER and then holding each chunk for PAUSE seconds; prints what it got as JSON.
_CHILD = r"""
import hashlib, json, os, sys, time
from pathlib import Path
from workbench.data import disk_cache
folder, marker, pause = sys.argv[1], sys.argv[2], float(sys.argv[3])
paths = sorted(str(p) for p in Path(folder).rglob("*.png"))
files = [(p, os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in paths]
def progress(done, total):
    Path(marker).touch()
    time.sleep(pause)
lines = []
got = disk_cache.open_or_fill(files, 16, folder=folder, limit_bytes=2**30, workers=0,
                              log=lines.append, progress=progress)
print(json.dumps({"filled": got.filled, "log": lines,
                  "digest": hashlib.sha256(got.images.tobytes()).hexdigest()}))
"""


def _child(folder: Path, marker: Path, pause: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(folder), str(marker), str(pause)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the child never started its fill"
        time.sleep(0.05)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_fill_killed_half_way_is_never_used(make_tree, tmp_path):
    folder = make_tree({"a": 70, "b": 70})  # 140 images: three chunks, killed after the first
    marker = tmp_path / "started"
    proc = _child(folder, marker, pause=60)
    _wait_for(marker, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    root = disk_cache.decoded_root()
    files = _files(folder)
    key = disk_cache.cache_key(files, 16)
    assert not (root / key).exists() and list(root.glob(f"{key}.partial-*"))  # only debris
    assert [e.state for e in disk_cache.list_entries()] == ["interrupted"]

    lines = []
    got = disk_cache.open_or_fill(files, 16, folder=str(folder), limit_bytes=2**30, workers=0,
                                  log=lines.append)
    assert got.filled and any(line.startswith("Decoding 140 images") for line in lines)
    assert not list(root.glob(f"{key}.partial-*"))  # the dead fill's debris is gone
    from workbench.data.decode import load_image

    assert np.array_equal(got.images[-1], load_image(files[-1][0], 16).transpose(2, 0, 1))


def test_two_processes_at_once_share_one_fill(make_tree, tmp_path):
    folder = make_tree({"a": 70, "b": 70})
    first = _child(folder, tmp_path / "first", pause=0.5)
    _wait_for(tmp_path / "first", first)  # the first holds the fill lock now
    second = _child(folder, tmp_path / "second", pause=0)
    results = [json.loads(p.communicate(timeout=120)[0]) for p in (first, second)]
    assert [r["filled"] for r in results] == [True, False]
    assert any("waiting" in line for line in results[1]["log"])
    assert any("filled by another process" in line for line in results[1]["log"])
    assert results[0]["digest"] == results[1]["digest"]
    assert [e.state for e in disk_cache.list_entries()] == ["ready"]


def test_least_recently_used_entries_make_room(make_tree):
    files = _files(make_tree({"a": 4, "b": 4}))
    per_image = 3 * 16 * 16

    def fill(size: int, limit: int, log=lambda _: None):
        return disk_cache.open_or_fill(files, size, folder="f", limit_bytes=limit, workers=0, log=log)

    limit = 8 * per_image * 3  # room for about three entries of 16 px
    a, b = fill(16, limit), fill(15, limit)
    time.sleep(0.02)
    assert not fill(16, limit).filled  # a is used again: b is now the least recently used
    lines = []
    fill(17, limit, lines.append)  # a third entry, over the limit with the other two
    sizes = sorted(e.image_size for e in disk_cache.list_entries())
    assert sizes == [16, 17]
    assert any("removed f at 15 px" in line for line in lines)
    assert not b.location.exists() and a.location.exists()
    # An entry bigger than the limit itself is refused, and the run streams instead.
    refused = []
    assert fill(64, 8 * 3 * 64 * 64 - 1, refused.append) is None
    assert "would not fit" in refused[0]


def test_cache_list_and_clear_on_the_command_line(tiny_data, capsys):
    from workbench.cli import main

    config = TrainConfig(data_dir=str(tiny_data), image_size=32, workers=0, cache_budget_mb=0)
    prepare_data(config, log=lambda _: None)
    assert main(["cache", "list"]) == 0
    out = capsys.readouterr().out
    assert str(tiny_data) in out and "32 px" in out and "64 images" in out and "ready" in out
    assert main(["cache", "clear"]) == 0
    assert "Removed 1" in capsys.readouterr().out
    assert disk_cache.list_entries() == []
    assert main(["cache", "list"]) == 0
    assert "empty" in capsys.readouterr().out


def test_a_rescan_opens_only_the_files_that_changed(make_tree, write_image, monkeypatch):
    from workbench.data import scan as scan_module

    folder = make_tree({"a": 5, "b": 5})
    (folder / "b" / "broken.png").write_bytes(b"not a png")
    first = scan_image_folder(folder)
    opened = []
    real = scan_module.image_problem
    monkeypatch.setattr(scan_module, "image_problem", lambda p, mp=89.0: opened.append(p) or real(p, mp))
    again = scan_image_folder(folder)
    assert opened == []  # nothing changed: no file opened
    assert again.samples == first.samples and again.skipped == first.skipped
    write_image(folder / "a" / "img_002.png", seed=50)
    os.utime(folder / "a" / "img_002.png", ns=(10**18, 10**18))
    write_image(folder / "a" / "new.png", seed=51)
    third = scan_image_folder(folder)
    assert sorted(Path(p).name for p in opened) == ["img_002.png", "new.png"]
    assert third.num_images == 11 and [s.path for s in third.skipped] == [str(folder / "b" / "broken.png")]
