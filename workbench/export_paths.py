"""Where an export may be written: never onto a run's own files, never over a file unasked.

``--out RUN/config`` once replaced config.json (through the metadata file ``config.json`` beside
``RUN/config``), ``--out RUN/checkpoints/last.pt`` replaced the checkpoint, and any existing file
was overwritten silently. Every export writes two files, the model and ``<model>.json``, and
both are checked here before anything is written.
"""

from __future__ import annotations

from pathlib import Path

from workbench.model_file_names import FILE_SUFFIXES, metadata_path_for
from workbench.runs import has_run_layout

# What training writes into a run folder (workbench.runs documents the layout); exports go in
# exports/ or anywhere else.
RUN_FILES = ("config.json", "summary.json", "metrics.csv", "train.log", "scan_report.json")
# Here rather than in workbench.export (which re-exports them) so the window can list them
# without loading torch.
FORMATS = ("pt", "safetensors", "torchscript", "onnx")
CHECKPOINTS = ("best", "last")


class ExportError(Exception):
    """The export could not be written, or the written file does not reproduce the model."""


def default_export_path(run_dir: str | Path, fmt: str, checkpoint: str = "best") -> Path:
    """RUN/exports/<run name>-<checkpoint><suffix>, e.g. …-best.torchscript.pt."""
    run_dir = Path(run_dir)
    return run_dir / "exports" / f"{run_dir.name}-{checkpoint}{FILE_SUFFIXES[fmt]}"


def export_target(run_dir: Path, fmt: str, checkpoint: str, out: str | Path | None,
                  force: bool = False) -> Path:
    """The model file to write for ``out``: a file name, a folder (existing, or any name ending
    in a slash, created) for the default name, or None for RUN/exports/. Raises ExportError if
    the model or its metadata file would land on a run's own file, or on an existing file
    without ``force``."""
    if out is None:
        path = default_export_path(run_dir, fmt, checkpoint)
    else:
        text = str(out)
        path = Path(text).expanduser()
        if text.endswith(("/", "\\")) or path.is_dir():  # "newdir/" means a folder, not a file "newdir"
            if path.exists() and not path.is_dir():
                raise ExportError(f"{path} is a file, not a folder; remove the trailing slash to "
                                  "write that file")
            path = path / default_export_path(run_dir, fmt, checkpoint).name
        elif path.name.endswith(".json"):
            raise ExportError(f"{path} would be taken for a metadata file; choose a name ending in "
                              f"{FILE_SUFFIXES[fmt]}")
    sidecar = metadata_path_for(path)
    for target in (path, sidecar):
        reason = run_file_reason(target)
        if reason:
            raise ExportError(f"Refused to write {target}: it is {reason}. Export to the run's "
                              "exports/ folder or somewhere outside the run.")
        if target.is_dir():
            raise ExportError(f"Cannot write {target}: a folder of that name exists")
    existing = [str(t) for t in (path, sidecar) if t.exists() or t.is_symlink()]
    if existing and not force:
        raise ExportError(f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
                          "choose another name, or overwrite with --force")
    return path


def run_file_reason(path: Path) -> str | None:
    """Why ``path`` belongs to a run (e.g. "the run's config.json"), or None if it does not."""
    try:
        path = path.resolve()  # a link or "RUN/exports/../config.json" is the file it names
    except (OSError, RuntimeError):
        return None
    parent = path.parent
    # The layout, not a readable config: a run whose config.json is damaged is still a run.
    if parent.name == "checkpoints" and has_run_layout(parent.parent):
        return f"inside the checkpoints folder of the run {parent.parent}"
    if path.name in RUN_FILES and has_run_layout(parent):
        return f"the run's own {path.name} (of {parent})"
    return None
