"""Content and perceptual hashes of image files, cached so a second look costs only a ``stat``.

Each file gets a SHA-256 of its bytes (identical files: exact duplicates) and a 64-bit perceptual
hash (imagehash's ``phash`` at hash size 8: the signs of the lowest 8×8 DCT frequencies of a 32×32
grey thumbnail), which survives resizing, recompression and small colour changes. Two images
whose phashes differ in few bits look alike (:mod:`workbench.data.duplicates`).

The cache is one SQLite file (``image_hashes.sqlite3`` in the user cache folder, or
``$WORKBENCH_CACHE_DIR``): a file whose path, size and modification time are unchanged is not read
again. SQLite keeps it consistent when the window and a training process use it at once; when it
cannot be opened the hashes are simply computed.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

# At import, not at first use: imagehash and the scipy.fftpack its phash imports on its first
# call initialise extension modules under the GIL; first imported on a training or pool thread,
# that froze the window for up to a second.
import imagehash
import numpy as np
import scipy.fftpack  # noqa: F401
from PIL import Image, ImageOps

from workbench.data.decode import _to_rgb  # the colour conversion training uses (alpha on white …)

HASH_BITS = 64  # phash at hash_size 8
CACHE_NAME = "image_hashes.sqlite3"
_SCHEMA = ("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
           "sha256 TEXT, phash TEXT, problem TEXT)")


@dataclass(frozen=True)
class FileHash:
    """``phash`` is the 64-bit perceptual hash as an int, None when the image could not be decoded
    (``problem`` says why); ``sha256`` is None only when the file could not be read."""

    sha256: str | None
    phash: int | None
    problem: str | None = None


def default_cache_path() -> Path:
    override = os.environ.get("WORKBENCH_CACHE_DIR")
    if override:
        return Path(override) / CACHE_NAME
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("workbench", appauthor=False)) / CACHE_NAME


def perceptual_hash(image: Image.Image) -> int:
    """imagehash's phash (hash size 8) of an opened image, after EXIF orientation, as an int."""
    if image.format == "JPEG":
        image.draft("RGB", (64, 64))  # decode at 1/2…1/8 scale: phash only needs 32×32 pixels
    image = _to_rgb(ImageOps.exif_transpose(image))
    bits = imagehash.phash(image, hash_size=8).hash.flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hash_file(path: str) -> FileHash:
    """Both hashes of one file, reading it once."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return FileHash(None, None, f"unreadable ({exc.strerror or exc})")
    sha = hashlib.sha256(data).hexdigest()
    try:
        with Image.open(io.BytesIO(data)) as im:
            return FileHash(sha, perceptual_hash(im))
    except Exception as exc:  # noqa: BLE001 — an undecodable file still has a content hash
        return FileHash(sha, None, f"could not be decoded ({exc.__class__.__name__}: {exc})")


def hash_files(paths: Sequence[str], *, cache_path: Path | None = None, threads: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> dict[str, FileHash]:
    """Hashes of ``paths`` (in parallel threads: reading, SHA-256 and decoding release the GIL),
    from and into the cache at ``cache_path`` (default :func:`default_cache_path`)."""
    cache = _open_cache(cache_path or default_cache_path())
    stats = {p: _stat(p) for p in paths}
    known = _cached(cache, stats) if cache is not None else {}
    todo = [p for p in paths if p not in known]
    out = dict(known)
    if progress:
        progress(len(out), len(paths))
    if todo:
        # More threads than 4 add little (decoding small images) and compete for the GIL with
        # the window when a training checks for leakage.
        workers = threads or min(4, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for n, (path, result) in enumerate(zip(todo, pool.map(hash_file, todo), strict=True), 1):
                out[path] = result
                if progress and (n % 50 == 0 or n == len(todo)):
                    progress(len(known) + n, len(paths))
        if cache is not None:
            _store(cache, {p: out[p] for p in todo}, stats)
    if cache is not None:
        cache.close()
    return {p: out[p] for p in paths}


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _open_cache(path: Path) -> sqlite3.Connection | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=10)
        connection.execute(_SCHEMA)
        connection.commit()
        return connection
    except (OSError, sqlite3.Error):
        return None  # a read-only home, a damaged file: hash without the cache


def _cached(cache: sqlite3.Connection, stats: dict[str, tuple[int, int] | None]) -> dict[str, FileHash]:
    """The files whose cached row still matches their size and modification time."""
    out: dict[str, FileHash] = {}
    try:
        rows = {}
        paths = list(stats)
        for i in range(0, len(paths), 500):  # SQLite's limit on bound parameters
            chunk = paths[i:i + 500]
            rows.update({r[0]: r[1:] for r in cache.execute(
                f"SELECT path, size, mtime_ns, sha256, phash, problem FROM files WHERE path IN "
                f"({','.join('?' * len(chunk))})", chunk)})
    except sqlite3.Error:
        return {}
    for path, stat in stats.items():
        row = rows.get(path)
        if stat is not None and row is not None and (row[0], row[1]) == stat and row[2]:
            out[path] = FileHash(row[2], int(row[3], 16) if row[3] else None, row[4])
    return out


def _store(cache: sqlite3.Connection, hashes: dict[str, FileHash],
           stats: dict[str, tuple[int, int] | None]) -> None:
    rows = [(p, *stats[p], h.sha256, None if h.phash is None else f"{h.phash:016x}", h.problem)
            for p, h in hashes.items() if stats.get(p) is not None and h.sha256 is not None]
    try:
        with closing(cache.cursor()) as cursor:
            cursor.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", rows)
        cache.commit()
    except sqlite3.Error:
        pass  # another process holding the database too long: the hashes are still returned
