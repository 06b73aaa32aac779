"""Damaged run folders, made from a copy of a real run: one function per case, returning the folder.

Each damages one file the way people, sync tools and disks do; ``workbench runs`` and the Runs
view must still list every run and say what is damaged (the ``note`` of each case below).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def copy_run(run: Path, root: Path, name: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(run, root / name))


def truncated_metrics_row(run: Path) -> Path:
    """metrics.csv cut in the middle of its last row (a kill while a sync tool copied it)."""
    path = run / "metrics.csv"
    text = path.read_text()
    path.write_text(text[: text.rstrip("\n").rfind(",")])
    return run


def summary_holding_a_list(run: Path) -> Path:
    (run / "summary.json").write_text("[1]")
    return run


def summary_with_huge_number(run: Path) -> Path:
    """1e400 parses as infinity: no finite best value, and int() of it overflows."""
    text = (run / "summary.json").read_text()
    summary = json.loads(text)
    summary["best_value"] = "__HUGE__"
    summary["stopped_epoch"] = "__HUGE__"
    (run / "summary.json").write_text(json.dumps(summary).replace('"__HUGE__"', "1e400"))
    return run


def deeply_nested_config(run: Path, depth: int = 100_000) -> Path:
    """config.json nested deeper than Python's recursion limit."""
    (run / "config.json").write_text("[" * depth + "]" * depth)
    return run


def metrics_with_text(run: Path) -> Path:
    path = run / "metrics.csv"
    lines = path.read_text().splitlines()
    lines[1] = ",".join(["one", *lines[1].split(",")[1:]])
    path.write_text("\n".join(lines) + "\n")
    return run


def forged_run_name(run: Path, root: Path) -> Path:
    """A run folder whose name holds a newline and escape codes."""
    return Path(shutil.copytree(run, root / "evil\n\x1b[31mfinished"))
