"""What the last scan of a folder found about each file, so a rescan opens only the files that
changed.

Kept in the user cache folder, one small JSON file per folder and megapixel limit: for every file,
its size, modification time and the reason it was skipped (or none). A file whose size and
modification time are unchanged keeps its verdict without being opened again; anything else is
checked as on a first scan. Losing the file only makes the next scan a full one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from workbench.data.disk_cache import cache_root

FORMAT = 1
Record = tuple[int, int, "str | None"]  # size in bytes, modification time in ns, skip reason


def index_path(root: str, max_megapixels: float) -> Path:
    name = hashlib.sha256(f"{os.path.realpath(root)}\0{max_megapixels!r}".encode(
        "utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_root() / "scans" / f"{name}.json"


def load_records(root: str, max_megapixels: float) -> dict[str, Record]:
    """The last scan's records of ``root``; empty when there are none or they are unreadable."""
    try:
        with open(index_path(root, max_megapixels), encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("format") != FORMAT or data.get("root") != os.path.realpath(root):
            return {}
        return {path: (int(size), int(mtime), None if reason is None else str(reason))
                for path, (size, mtime, reason) in data["files"].items()}
    except (OSError, ValueError, RecursionError, TypeError, KeyError, AttributeError):
        return {}


def save_records(root: str, max_megapixels: float, records: dict[str, Record]) -> None:
    """Write the records (temp file, then rename); a failure only costs the next scan time."""
    path = index_path(root, max_megapixels)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as fh:
            json.dump({"format": FORMAT, "root": os.path.realpath(root), "files": records}, fh)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
