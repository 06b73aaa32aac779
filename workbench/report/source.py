"""What a report is about: a run folder, a cross-validation study or a search study, read once.

Every file is read through :func:`workbench.runs.read_json_object` (bounded size, survives damage):
a report of a damaged or half-finished folder says what is missing instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.runs import RunFolder, has_run_layout, read_json_object

CV_SUMMARY, CV_STUDY, OOF = "cv_summary.json", "study.json", "oof.npz"
SEARCH_SUMMARY, SEARCH_STUDY = "search_summary.json", "search.json"


class ReportError(ValueError):
    """The folder is not something a report can be made of; the message says why."""


@dataclass
class ReportSource:
    kind: str  # "run", "cv" or "search"
    path: Path
    run: Path | None = None  # the run whose details are shown: the run itself, or the best trial
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)  # the run's summary.json
    scan: dict[str, Any] = field(default_factory=dict)  # the run's (or first fold's) scan_report.json
    history: list[dict[str, float]] = field(default_factory=list)
    study: dict[str, Any] = field(default_factory=dict)  # cv_summary.json / search_summary.json
    notes: list[str] = field(default_factory=list)  # damage found while reading
    cache: dict[str, Any] = field(default_factory=dict)  # what several sections derive, made once

    @property
    def class_names(self) -> list[str]:
        names = self.summary.get("class_names") or self.scan.get("class_names") or []
        return [str(n) for n in names] if isinstance(names, list) else []


def load_source(path: str | Path) -> ReportSource:
    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"{path} is not a folder: give a run folder, a cross-validation study "
                          "(workbench cv --out) or a search study (workbench search --out).")
    if (path / CV_STUDY).exists() or (path / CV_SUMMARY).exists():
        source = ReportSource("cv", path)
        source.study = _json(path / CV_SUMMARY, source.notes)
        source.config = source.study.get("config") or _json(path / CV_STUDY, source.notes).get("config") or {}
        folds = sorted(p for p in path.glob("fold-*") if has_run_layout(p))
        if folds:
            _read_run(source, folds[0], details=False)
        return source
    if (path / SEARCH_STUDY).exists() or (path / SEARCH_SUMMARY).exists():
        source = ReportSource("search", path)
        source.study = _json(path / SEARCH_SUMMARY, source.notes)
        best = source.study.get("best") or {}
        run_dir = best.get("run_dir")
        if run_dir and has_run_layout(Path(run_dir)):
            _read_run(source, Path(run_dir))
        elif run_dir and has_run_layout(path / Path(run_dir).name):  # the study folder was moved
            _read_run(source, path / Path(run_dir).name)
        return source
    if has_run_layout(path):
        source = ReportSource("run", path)
        _read_run(source, path)
        return source
    raise ReportError(f"{path} holds no run (config.json, summary.json), no cross-validation study "
                      f"({CV_STUDY}) and no search study ({SEARCH_SUMMARY}).")


def _read_run(source: ReportSource, folder: Path, details: bool = True) -> None:
    run = RunFolder(folder)
    source.scan = _json(run.scan_report_path, source.notes)
    if not source.config:
        source.config = _json(run.config_path, source.notes)
    if not details:
        return
    source.run = folder
    source.summary = _json(run.summary_path, source.notes)
    if run.metrics_path.exists():
        source.history, problem = run.read_metrics_checked()
        if problem:
            source.notes.append(problem)


def _json(path: Path, notes: list[str]) -> dict[str, Any]:
    if not path.exists():
        return {}
    data, problem = read_json_object(path)
    if problem:
        notes.append(f"{path.name}: {problem}")
    return data
