"""The run folder: the contract the window, the CLI and users rely on.

    RUN/config.json         everything needed to re-run (a TrainConfig)
    RUN/metrics.csv         one row per finished epoch
    RUN/summary.json        classes, best epoch and value, why it stopped, device, totals
    RUN/scan_report.json    what the dataset scan found, skipped files included
    RUN/train.log           the engine's messages
    RUN/checkpoints/best.pt, last.pt

Every file is written to a temporary file in the same folder and renamed over the old one, so a
crash or a kill leaves either the old or the new version, never a torn file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.engine.events import METRIC_COLUMNS  # the one definition of the columns

_UMASK = os.umask(0)
os.umask(_UMASK)


def default_runs_root() -> Path:
    """Where runs go when no folder is given: the user's data directory."""
    override = os.environ.get("WORKBENCH_RUNS_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("workbench", appauthor=False)) / "runs"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsynced temporary file and an atomic rename."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; use what open() would
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(exc, OSError):
            exc.filename = str(path)  # name the file the user knows, not the temporary one
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


class RunFolder:
    """One training run on disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @classmethod
    def create(cls, out: str | Path | None = None, model: str = "run",
               root: str | Path | None = None) -> RunFolder:
        """A new run folder: ``out`` if given (must be new or empty), else a dated name under root."""
        if out is not None:
            path = Path(out)
            if path.exists() and any(path.iterdir()):
                raise FileExistsError(
                    f"Run folder {path} already exists and is not empty; choose another --out, "
                    f"or continue it with --resume {path}.")
        else:
            base = Path(root) if root else default_runs_root()
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = base / f"{stamp}-{re.sub(r'[^A-Za-z0-9_.-]', '_', model)}"
            suffix = 1
            while path.exists():
                suffix += 1
                path = base / f"{stamp}-{model}-{suffix}"
        (path / "checkpoints").mkdir(parents=True, exist_ok=True)
        return cls(path)

    # Paths -----------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    @property
    def scan_report_path(self) -> Path:
        return self.path / "scan_report.json"

    @property
    def log_path(self) -> Path:
        return self.path / "train.log"

    def checkpoint_path(self, which: str) -> Path:
        return self.path / "checkpoints" / f"{which}.pt"

    # Writing ---------------------------------------------------------------------------------
    def write_json(self, path: Path, data: dict[str, Any]) -> None:
        atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")

    def write_metrics(self, history: list[dict[str, Any]]) -> None:
        """Rewrite metrics.csv from the full history (small; keeps it consistent with last.pt)."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=METRIC_COLUMNS, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({k: _fmt(row.get(k)) for k in METRIC_COLUMNS})
        atomic_write_text(self.metrics_path, buf.getvalue())

    def append_log(self, line: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")

    def remove_stale_temp_files(self) -> list[Path]:
        """Delete temporary files a killed process left mid-write (the real files are intact)."""
        stale = [p for p in self.path.rglob(".*.tmp") if p.is_file()]
        for p in stale:
            p.unlink(missing_ok=True)
        return stale

    # Reading ---------------------------------------------------------------------------------
    def read_json(self, path: Path) -> dict[str, Any]:
        return json.loads(path.read_text(encoding="utf-8"))

    def read_metrics(self) -> list[dict[str, float]]:
        if not self.metrics_path.exists():
            return []
        with open(self.metrics_path, newline="", encoding="utf-8") as fh:
            return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()}
                    for row in csv.DictReader(fh)]


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


# Run history -----------------------------------------------------------------------------------
RUN_STATUSES = ("finished", "stopped", "incomplete", "failed")


@dataclass(frozen=True)
class RunInfo:
    """One past run as the history lists it (read from its files; nothing is loaded into torch)."""

    path: Path
    name: str
    created: datetime
    model: str
    dataset: str
    epochs_run: int
    best_metric: str | None
    best_value: float | None
    status: str  # one of RUN_STATUSES; "incomplete" = no summary yet, or the process was killed


def is_run_folder(path: str | Path) -> bool:
    """A folder the trainer made: a config.json naming a model, beside a checkpoints folder."""
    path = Path(path)
    config = path / "config.json"
    if not (config.is_file() and (path / "checkpoints").is_dir()):
        return False
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("model"), str)


def read_run_info(path: str | Path) -> RunInfo:
    """The history entry of one run folder (ValueError if it is not one)."""
    path = Path(path)
    if not is_run_folder(path):
        raise ValueError(f"{path} is not a Workbench run folder (no config.json and checkpoints/)")
    run = RunFolder(path)
    config = run.read_json(run.config_path)
    summary: dict[str, Any] = {}
    if run.summary_path.is_file():
        try:
            summary = run.read_json(run.summary_path)
        except (OSError, ValueError):
            summary = {}
    try:
        history = run.read_metrics()
    except (OSError, ValueError, KeyError):
        history = []
    monitor = summary.get("monitor") or config.get("monitor") or "val_loss"
    best_value = summary.get("best_value")
    if best_value is None and history:
        column = "val_acc" if monitor == "val_accuracy" else "val_loss"
        values = [row[column] for row in history if column in row]
        if values:
            best_value = max(values) if column == "val_acc" else min(values)
    status = summary.get("status")
    if status not in RUN_STATUSES:
        status = "incomplete"  # "running" left behind by a killed process, or no summary at all
    return RunInfo(
        path=path,
        name=path.name,
        created=_run_started(run),
        model=str(config.get("model", "")),
        dataset=str(summary.get("dataset") or config.get("data_dir") or "sample data"),
        epochs_run=int(summary.get("stopped_epoch") or (history[-1]["epoch"] if history else 0)),
        best_metric=monitor if best_value is not None else None,
        best_value=float(best_value) if best_value is not None else None,
        status=status,
    )


def _run_started(run: RunFolder) -> datetime:
    # The first train.log line carries the start time; config.json is rewritten on resume.
    try:
        with open(run.log_path, encoding="utf-8") as fh:
            return datetime.strptime(fh.readline()[:19], "%Y-%m-%d %H:%M:%S")
    except (OSError, ValueError):
        return datetime.fromtimestamp(run.config_path.stat().st_mtime)


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Every run folder directly under ``root`` (default: default_runs_root()), newest first.

    Folders that are not runs (no config.json + checkpoints/) are skipped, as are unreadable ones.
    """
    root = Path(root) if root is not None else default_runs_root()
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        try:
            if child.is_dir() and is_run_folder(child):
                runs.append(read_run_info(child))
        except (OSError, ValueError):
            continue  # a folder deleted or half-written while we looked at it
    return sorted(runs, key=lambda r: (r.created, r.name), reverse=True)


def delete_run(path: str | Path) -> None:
    """Delete a run folder and everything in it; refuses (ValueError) anything that is not a run."""
    path = Path(path)
    if path.is_symlink():
        raise ValueError(f"{path} is a link, not a run folder; delete it yourself if you mean to")
    if not path.is_dir():
        raise ValueError(f"{path} does not exist or is not a folder")
    if not is_run_folder(path):
        raise ValueError(f"{path} is not a Workbench run folder (no config.json and checkpoints/); "
                         "refusing to delete it")
    shutil.rmtree(path)
