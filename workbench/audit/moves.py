"""Moving a suspect image to another class folder: nothing is deleted, nothing is overwritten."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from workbench.audit.label_issues import AuditError
from workbench.data.scan import DatasetScan


def class_folder_of(path: str | Path, scan: DatasetScan) -> Path:
    """The class folder ``path`` lies in (a nested subfolder's file belongs to its top class folder)."""
    root, path = Path(scan.root), Path(path)
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        raise AuditError(f"{path} is not in the dataset folder {root}.") from None
    depth = 2 if scan.presplit else 1  # train/<class>/… or <class>/…
    if len(parts) <= depth:
        raise AuditError(f"{path} is not inside a class folder of {root}.")
    return root.joinpath(*parts[:depth])


def move_to_class(path: str | Path, class_name: str, scan: DatasetScan) -> Path:
    """Move ``path`` into the folder of ``class_name`` (in the same split folder of a pre-split
    dataset) and return where it went. A name already taken there gets ``-1``, ``-2`` … added:
    the move never replaces a file."""
    path = Path(path)
    if class_name not in scan.class_names:
        raise AuditError(f"'{class_name}' is not a class of {scan.root}.")
    if not path.is_file():
        raise AuditError(f"{path} no longer exists.")
    source_class = class_folder_of(path, scan)
    if source_class.name == class_name:
        raise AuditError(f"{path.name} is already in '{class_name}'.")
    target_dir = source_class.parent / class_name
    target_dir.mkdir(exist_ok=True)
    for n in range(10_000):
        target = target_dir / (path.name if n == 0 else f"{path.stem}-{n}{path.suffix}")
        if _move_without_replacing(path, target):
            return target
    raise AuditError(f"No free name for {path.name} in {target_dir}.")


def _move_without_replacing(source: Path, target: Path) -> bool:
    """False when ``target`` exists. A hard link then unlink cannot replace a file that appeared
    meanwhile (rename would); where links are not possible, check and rename."""
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    except OSError:
        if target.exists() or target.is_symlink():
            return False
        shutil.move(source, target)
        return True
    os.unlink(source)
    return True


def record_move(audit: dict, source: str, target: str, class_name: str) -> dict:
    """``audit`` with the move logged and the moved file's findings following it to its new name."""
    def follow(entry: dict) -> dict:
        return {**entry, "path": target, "class": class_name} if entry.get("path") == source else entry

    moved = dict(audit)
    for key in ("exact_duplicates", "near_duplicates", "leakage"):
        moved[key] = [{**e, "files": [follow(f) for f in e["files"]]} for e in audit[key]]
    moved["label_issues"] = [i for i in audit["label_issues"] if i["path"] != source]
    moved["moves"] = [*audit["moves"], {"from": source, "to": target, "class": class_name,
                                        "time": time.strftime("%Y-%m-%dT%H:%M:%S")}]
    return moved
