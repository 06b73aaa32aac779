"""Decoded images on disk, for sets larger than the memory budget.

A folder's images are decoded once at training size into one uint8 file; every later epoch, run,
cross-validation fold and search trial on that folder and size maps the file into memory (numpy
memmap) and reads it through the operating system's page cache. One entry per folder content ×
image size × preprocessing, under ``decoded_root()``:

    <key>/images.u8            N × 3 × S × S uint8: the folder's images in path order
    <key>/index.json           the folder, the image size, the paths, the files that failed
    <key>.lock                 held while the entry is filled: a second process waits, then reads
    <key>.partial-<pid>/       a fill in progress, renamed to <key>/ only once complete and on
                               disk, so a fill killed half-way is never read; the next fill of
                               that key, or ``workbench cache clear``, removes it

The key hashes every file's path, size and modification time, the image size and the
preprocessing: a changed, added or removed file means a new entry, and the old one ages out. The
cache stays under its size limit by removing the least recently used entries (an entry's last use
is its index.json's modification time, touched at every use).

This module imports no torch: the fill runs in worker processes that need PIL and numpy only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from workbench.data.decode import load_image
from workbench.data.processes import run_chunks, worker_processes
from workbench.run_lock import try_lock_file, wait_for_lock

FORMAT = 1
# Names what workbench.data.decode.load_image produces; change it when that output changes, so
# no entry decoded the old way is read as the new one.
PREPROCESSING = "load_image 1: JPEG draft, EXIF orientation, RGB on white, centre square crop, bilinear"
IMAGES_FILE, INDEX_FILE = "images.u8", "index.json"
_CHUNK = 64  # images per unit of work: progress steps, and what a process takes at a time


def cache_root() -> Path:
    """The user cache folder (platformdirs), or ``WORKBENCH_CACHE_DIR`` when set."""
    env = os.environ.get("WORKBENCH_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("workbench", appauthor=False))


def decoded_root() -> Path:
    return cache_root() / "decoded"


def cache_key(files: list[tuple[str, int, int]], image_size: int) -> str:
    """The entry of ``(path, size in bytes, modification time in ns)`` files at ``image_size``."""
    digest = hashlib.sha256(json.dumps([FORMAT, PREPROCESSING, image_size]).encode())
    for path, size, mtime_ns in files:
        digest.update(f"{path}\0{size}\0{mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:32]


@dataclass
class DecodedFolder:
    """An entry opened for reading: ``images[i]`` is ``paths[i]`` (zeros where it failed)."""

    images: np.ndarray  # memory-mapped, copy-on-write: never written through
    paths: list[str]
    failed: dict[int, str]  # index → why that file could not be decoded
    location: Path
    filled: bool  # True: this process decoded it now; False: found ready
    seconds: float  # the fill's duration (0 when found ready)


@dataclass
class CacheEntry:
    """One entry as ``workbench cache list`` shows it."""

    key: str
    location: Path
    state: str  # "ready", "filling" (a process holds its lock) or "interrupted" (a dead fill)
    folder: str
    image_size: int
    images: int
    bytes: int
    last_used: float


def open_or_fill(files: list[tuple[str, int, int]], image_size: int, *, folder: str,
                 limit_bytes: int, workers: int = 1, log: Callable[[str], None] = print,
                 progress: Callable[[int, int], None] | None = None) -> DecodedFolder | None:
    """The decoded images of ``files`` (path order), filling the entry first when no process has;
    None, with the reason logged, when the entry cannot be kept (over ``limit_bytes`` or the free
    disk space)."""
    needed = len(files) * 3 * image_size * image_size
    if needed > limit_bytes:
        log(f"The decoded images ({_mb(needed)}) would not fit the {_mb(limit_bytes)} disk cache "
            "limit: decoding from disk every epoch.")
        return None
    root = decoded_root()
    key = cache_key(files, image_size)
    paths = [p for p, _, _ in files]
    ready = _open_ready(root / key, paths, image_size)
    if ready is not None:
        log(f"Decoded images found in the disk cache ({ready.location}): nothing to decode.")
        return ready
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log(f"Cannot create the disk cache folder {root} ({exc.strerror or exc}): decoding from disk "
            "every epoch.")
        return None
    lock = try_lock_file(root / f"{key}.lock")
    if lock is None:
        log("Another Workbench process is decoding this folder into the disk cache: waiting for it.")
        lock = wait_for_lock(root / f"{key}.lock")
    try:
        ready = _open_ready(root / key, paths, image_size)  # the other process's fill
        if ready is not None:
            log(f"Decoded images found in the disk cache ({ready.location}), filled by another "
                "process: nothing to decode.")
            return ready
        for debris in root.glob(f"{key}.partial-*"):  # we hold the lock: their filler is gone
            shutil.rmtree(debris, ignore_errors=True)
        shutil.rmtree(root / key, ignore_errors=True)  # unreadable or incomplete
        for gone in make_room(needed, limit_bytes, keep=key):
            log(f"Disk cache: removed {gone.folder} at {gone.image_size} px ({_mb(gone.bytes)}, "
                "least recently used) to stay under the limit.")
        free = shutil.disk_usage(root).free
        if needed > free - 2**28:  # leave 256 MB for everything else
            log(f"The decoded images ({_mb(needed)}) do not fit the {_mb(free)} free in {root}: "
                "decoding from disk every epoch.")
            return None
        try:
            return _fill(root, key, paths, image_size, folder=folder, workers=workers, log=log,
                         progress=progress)
        except OSError as exc:  # the disk filled up, or the folder became unwritable
            for debris in root.glob(f"{key}.partial-{os.getpid()}"):
                shutil.rmtree(debris, ignore_errors=True)
            log(f"Could not write the disk cache ({exc.strerror or exc}): decoding from disk every "
                "epoch.")
            return None
    finally:
        lock.release()


def _fill(root: Path, key: str, paths: list[str], size: int, *, folder: str, workers: int,
          log: Callable[[str], None], progress) -> DecodedFolder:
    n = len(paths)
    processes = worker_processes(workers, n, per_process=4 * _CHUNK)
    how = f"{processes} processes" if processes else "this process"
    log(f"Decoding {n} images at {size} px into the disk cache ({_mb(n * 3 * size * size)}, "
        f"{how}); later epochs and runs on this folder read them from there.")
    started = time.perf_counter()
    partial = root / f"{key}.partial-{os.getpid()}"
    partial.mkdir()
    data = partial / IMAGES_FILE
    nbytes = n * 3 * size * size
    with open(data, "wb") as fh:
        # Blocks reserved up front: a disk filling up during the fill fails here with an error,
        # not later in a write through the mapping (which would kill the process with SIGBUS).
        if hasattr(os, "posix_fallocate") and nbytes:
            os.posix_fallocate(fh.fileno(), 0, nbytes)
        else:
            fh.truncate(nbytes)
    chunks = [(str(data), n, size, start, paths[start:start + _CHUNK]) for start in range(0, n, _CHUNK)]
    failed: dict[int, str] = {}
    done = [0]

    def finished(i: int, reasons: dict[int, str]) -> None:
        failed.update(reasons)
        done[0] += len(chunks[i][4])
        if progress:
            progress(done[0], n)

    run_chunks(_fill_chunk, chunks, processes, finished)
    with open(data, "rb+") as fh:
        os.fsync(fh.fileno())
    seconds = time.perf_counter() - started
    index = {"format": FORMAT, "preprocessing": PREPROCESSING, "folder": folder, "image_size": size,
             "count": n, "paths": paths, "failed": {str(i): r for i, r in sorted(failed.items())},
             "created": datetime.now().isoformat(timespec="seconds"), "decode_seconds": seconds}
    with open(partial / INDEX_FILE, "w", encoding="utf-8") as fh:
        json.dump(index, fh)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(partial)
    os.replace(partial, root / key)  # the entry appears complete, or not at all
    _fsync_dir(root)
    log(f"Decoded {n} images into the disk cache in {seconds:.1f} s ({n / max(seconds, 1e-9):.0f} "
        "images/s).")
    opened = _open_ready(root / key, paths, size)
    opened.filled, opened.seconds = True, seconds
    return opened


def _fill_chunk(task) -> dict[int, str]:
    """Decode one chunk of paths into their rows of the entry's file (runs in a worker process)."""
    data, n, size, start, paths = task
    images = np.memmap(data, dtype=np.uint8, mode="r+", shape=(n, 3, size, size))
    failed: dict[int, str] = {}
    for offset, path in enumerate(paths):
        try:
            images[start + offset] = load_image(path, size).transpose(2, 0, 1)
        except Exception as exc:  # noqa: BLE001 — any decoder failure means: skip this file
            failed[start + offset] = f"could not be decoded ({exc.__class__.__name__}: {exc})"
    images.flush()
    del images
    return failed


def _open_ready(location: Path, paths: list[str], size: int) -> DecodedFolder | None:
    """The entry at ``location`` when it is complete and of these paths and size, else None."""
    index = _read_index(location)
    if index is None or index.get("paths") != paths or index.get("image_size") != size:
        return None
    data = location / IMAGES_FILE
    try:
        if data.stat().st_size != len(paths) * 3 * size * size:
            return None
        images = (np.memmap(data, dtype=np.uint8, mode="c", shape=(len(paths), 3, size, size))
                  if paths else np.zeros((0, 3, size, size), dtype=np.uint8))
        os.utime(location / INDEX_FILE)  # its last use, for least-recently-used eviction
    except (OSError, ValueError):  # removed meanwhile by another process's eviction
        return None
    failed = {int(i): str(r) for i, r in index.get("failed", {}).items()}
    return DecodedFolder(images, paths, failed, location, filled=False, seconds=0.0)


def _read_index(location: Path) -> dict | None:
    try:
        with open(location / INDEX_FILE, encoding="utf-8") as fh:
            index = json.load(fh)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(index, dict) or index.get("format") != FORMAT or \
            index.get("preprocessing") != PREPROCESSING:
        return None
    return index


def list_entries(root: Path | None = None) -> list[CacheEntry]:
    """Every entry and interrupted fill under the cache, least recently used first."""
    root = root or decoded_root()
    if not root.is_dir():
        return []
    out = []
    for path in root.iterdir():
        if not path.is_dir():
            continue
        key, _, pid = path.name.partition(".partial-")
        data = path / IMAGES_FILE
        size = data.stat().st_size if data.exists() else 0
        if pid:
            lock = try_lock_file(root / f"{key}.lock")
            state = "interrupted" if lock is not None else "filling"
            if lock is not None:
                lock.release()
            out.append(CacheEntry(key, path, state, "", 0, 0, size, path.stat().st_mtime))
            continue
        index = _read_index(path) or {}
        out.append(CacheEntry(key, path, "ready" if index else "interrupted",
                              str(index.get("folder", "")), int(index.get("image_size", 0)),
                              int(index.get("count", 0)), size,
                              (path / INDEX_FILE).stat().st_mtime if index else path.stat().st_mtime))
    return sorted(out, key=lambda e: e.last_used)


def remove_entry(entry: CacheEntry, root: Path | None = None) -> bool:
    """Delete ``entry`` unless a process is filling it. A process reading it keeps its mapping
    (POSIX keeps a deleted file's data while it is mapped; Windows refuses the deletion, and the
    entry stays)."""
    root = root or decoded_root()
    lock = try_lock_file(root / f"{entry.key}.lock")
    if lock is None:
        return False
    try:
        shutil.rmtree(entry.location)
        return True
    except OSError:
        return False
    finally:
        lock.release()


def make_room(needed: int, limit_bytes: int, keep: str = "", root: Path | None = None) -> list[CacheEntry]:
    """Remove least recently used entries until ``needed`` more bytes fit under ``limit_bytes``;
    returns those removed."""
    entries = [e for e in list_entries(root) if e.key != keep]
    total = sum(e.bytes for e in entries)
    removed = []
    for entry in entries:  # oldest use first
        if total + needed <= limit_bytes:
            break
        if entry.state != "filling" and remove_entry(entry, root):
            total -= entry.bytes
            if entry.state == "ready":
                removed.append(entry)
    return removed


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mb(nbytes: int) -> str:
    return f"{nbytes / 2**20:,.0f} MB" if nbytes >= 2**20 else f"{nbytes / 2**20:.1f} MB"
