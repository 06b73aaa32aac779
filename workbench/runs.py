"""The run folder: the contract the window, the CLI and users rely on.

    RUN/config.json         everything needed to re-run (a TrainConfig)
    RUN/metrics.csv         one row per finished epoch
    RUN/summary.json        classes, best epoch and value, why it stopped, device, totals
    RUN/scan_report.json    what the dataset scan found, skipped files included
    RUN/train.log           the engine's messages
    RUN/checkpoints/best.pt, last.pt

Every file is written to a temporary file in the same folder and renamed over the old one, so a
crash or a kill leaves either the old or the new version, never a torn file.

Reading is the other way round: the files may have been damaged by hand, by a sync tool or by a
disk, so every reader here tolerates anything (a truncated row, ``[1]`` for a summary, ``1e400``,
JSON nested thousands deep) and says what it could not use instead of raising. One damaged run
must never hide the others.
"""

from __future__ import annotations

import csv
import io
import json
import math
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

MAX_RUN_FILE_BYTES = 64 * 1024**2  # config, summary and metrics of any real run are far smaller


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
        """The JSON object in ``path``; ValueError saying what is wrong if it is not one."""
        data, problem = read_json_object(path)
        if problem:
            raise ValueError(problem)
        return data

    def read_metrics(self) -> list[dict[str, float]]:
        """The readable rows of metrics.csv (see :meth:`read_metrics_checked` for what was not)."""
        return self.read_metrics_checked()[0]

    def read_metrics_checked(self) -> tuple[list[dict[str, float]], str | None]:
        """Rows of metrics.csv with finite numbers, and a note on what was left out (or None)."""
        if not self.metrics_path.exists():
            return [], None
        try:
            size = self.metrics_path.stat().st_size
            if size > MAX_RUN_FILE_BYTES:
                return [], f"metrics.csv is too large to be a run's ({size} bytes)"
            with open(self.metrics_path, newline="", encoding="utf-8", errors="replace") as fh:
                rows = list(csv.DictReader(fh))
        except (OSError, csv.Error) as exc:
            return [], f"metrics.csv cannot be read ({exc})"
        good, bad = [], []
        for number, row in enumerate(rows, start=2):  # line 1 is the header
            parsed = _metrics_row(row)
            (good if parsed is not None else bad).append(parsed if parsed is not None else number)
        if not bad:
            return good, None
        lines = ", ".join(str(n) for n in bad[:5]) + (", …" if len(bad) > 5 else "")
        return good, f"metrics.csv: {len(bad)} damaged row(s) left out (line {lines})"


def read_json_object(path: Path) -> tuple[dict[str, Any], str | None]:
    """``(object, None)``, or ``({}, why)`` when ``path`` does not hold a readable JSON object."""
    name = path.name
    try:
        if path.stat().st_size > MAX_RUN_FILE_BYTES:
            return {}, f"{name} is too large to be a run's ({path.stat().st_size} bytes)"
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return {}, f"{name} cannot be read ({exc.strerror or exc})"
    except RecursionError:
        return {}, f"{name} is damaged (nested too deeply)"
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        return {}, f"{name} is damaged (not valid JSON: {exc})"
    if not isinstance(data, dict):
        return {}, f"{name} is damaged (holds {type(data).__name__}, not an object)"
    return data, None


def _metrics_row(row: dict[str | None, Any]) -> dict[str, float] | None:
    # csv gives None for missing fields (a truncated row) and a list under None for extra ones.
    if None in row or any(v is None for v in row.values()):
        return None
    try:
        out = {k: (int(v) if k == "epoch" else None if v == "" and k in _OPTIONAL_METRICS else float(v))
               for k, v in row.items()}
    except (TypeError, ValueError):
        return None
    return out if all(v is None or math.isfinite(v) for v in out.values()) else None


# Empty in a run without a validation split.
_OPTIONAL_METRICS = ("val_loss", "val_acc")


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


# Run history -----------------------------------------------------------------------------------
RUN_STATUSES = ("finished", "stopped", "incomplete", "failed", "damaged")


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
    status: str  # one of RUN_STATUSES; "incomplete" = no summary yet, or the process was killed;
    #              "damaged" = config.json unusable (cannot re-run, resume or export)
    note: str = ""  # what is damaged in the run's files, for people ("" when nothing)


def has_run_layout(path: str | Path) -> bool:
    """A config.json file beside a checkpoints folder: a run, even if its files are damaged."""
    path = Path(path)
    try:
        return (path / "config.json").is_file() and (path / "checkpoints").is_dir()
    except OSError:
        return False


def is_run_folder(path: str | Path) -> bool:
    """A usable run: the layout of :func:`has_run_layout` and a config.json naming a model."""
    if not has_run_layout(path):
        return False
    config, problem = read_json_object(Path(path) / "config.json")
    return problem is None and isinstance(config.get("model"), str)


def read_run_info(path: str | Path) -> RunInfo:
    """The history entry of one run folder, whatever state its files are in (``note`` says what
    is damaged); ValueError only if ``path`` does not have a run's layout at all."""
    path = Path(path)
    if not has_run_layout(path):
        raise ValueError(f"{path} is not a Workbench run folder (no config.json and checkpoints/)")
    run = RunFolder(path)
    notes: list[str] = []
    config, problem = read_json_object(run.config_path)
    if problem is None and not isinstance(config.get("model"), str):
        problem = "config.json is damaged (it names no model)"
    notes += [problem] if problem else []
    summary: dict[str, Any] = {}
    if run.summary_path.is_file():
        summary, problem = read_json_object(run.summary_path)
        notes += [problem] if problem else []
    history, problem = run.read_metrics_checked()
    notes += [problem] if problem else []
    monitor = _text(summary.get("monitor")) or _text(config.get("monitor")) or "val_loss"
    if monitor not in ("val_loss", "val_accuracy"):
        notes.append(f"unknown monitored metric {monitor!r}")
        monitor = "val_loss"
    best_value = _number(summary.get("best_value"), notes, "summary.json best_value")
    if best_value is None and history:
        column = "val_acc" if monitor == "val_accuracy" else "val_loss"
        values = [row[column] for row in history if column in row]
        if values:
            best_value = max(values) if column == "val_acc" else min(values)
    epochs = _number(summary.get("stopped_epoch"), notes, "summary.json stopped_epoch")
    if epochs is None or epochs < 0 or epochs != int(epochs):
        epochs = history[-1].get("epoch", 0) if history else 0
    status = summary.get("status")
    if status not in RUN_STATUSES:
        status = "incomplete"  # "running" left behind by a killed process, or no summary at all
    if not isinstance(config.get("model"), str):
        status = "damaged"
    return RunInfo(
        path=path,
        name=path.name,
        created=_run_started(run),
        model=_text(config.get("model")),
        dataset=_text(summary.get("dataset")) or _text(config.get("data_dir")) or "sample data",
        epochs_run=int(epochs),
        best_metric=monitor if best_value is not None else None,
        best_value=best_value,
        status=status,
        note="; ".join(notes),
    )


def _text(value: Any) -> str:
    # A string from a run file, or "" for anything else (a number, a list, null).
    return value if isinstance(value, str) else ""


def _number(value: Any, notes: list[str], what: str) -> float | None:
    """A finite number from a run file, None if absent; anything else is noted, then ignored."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value) if abs(value) < 1e308 else math.inf  # 10**400 (an int) too
        if math.isfinite(number):
            return number
    notes.append(f"{what} is damaged ({str(value)[:40]})")
    return None


def _run_started(run: RunFolder) -> datetime:
    # The first train.log line carries the start time; config.json is rewritten on resume.
    try:
        with open(run.log_path, encoding="utf-8", errors="replace") as fh:
            return datetime.strptime(fh.readline(64)[:19], "%Y-%m-%d %H:%M:%S")
    except (OSError, ValueError):
        pass
    try:
        return datetime.fromtimestamp(run.config_path.stat().st_mtime)
    except (OSError, ValueError, OverflowError):
        return datetime.fromtimestamp(0)


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Every run folder directly under ``root`` (default: default_runs_root()), newest first.

    Folders that are not runs (no config.json + checkpoints/) are skipped. A run whose files
    are damaged is listed all the same, with ``note`` saying what is damaged.
    """
    root = Path(root) if root is not None else default_runs_root()
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        try:
            if child.is_dir() and has_run_layout(child):
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
    if not has_run_layout(path):  # a damaged run may be deleted; a folder of photos never
        raise ValueError(f"{path} is not a Workbench run folder (no config.json and checkpoints/); "
                         "refusing to delete it")
    shutil.rmtree(path)
