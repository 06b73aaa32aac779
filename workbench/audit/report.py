"""Making, saving and reading an audit (the format is in :mod:`workbench.audit`)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from workbench.audit.label_issues import AuditError, ClassProbabilities, rank_label_issues
from workbench.config import TrainConfig
from workbench.data.duplicates import DuplicateGroup, find_duplicates, find_leakage, split_of
from workbench.data.image_hashes import hash_files
from workbench.data.prepare import data_dir_of, split_dataset
from workbench.data.scan import DatasetScan, scan_image_folder
from workbench.runs import atomic_write_text, default_runs_root, read_json_object

AUDIT_FORMAT = "workbench-audit-1"
AUDIT_FILE = "audit.json"


def default_audit_path(data_dir: str | Path, cv: str | Path | None = None) -> Path:
    """Where an audit goes unless told: into the study folder when its labels were checked with a
    cross-validation study, else ``audits/<folder name>-<hash of its path>/audit.json`` beside the
    runs folder (never inside the dataset, whose scan would list it as a skipped file)."""
    if cv is not None:
        return Path(cv) / AUDIT_FILE
    data_dir = os.path.abspath(Path(data_dir).expanduser())
    digest = hashlib.sha256(data_dir.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(data_dir).name)[:60] or "dataset"
    return default_runs_root().parent / "audits" / f"{name}-{digest}" / AUDIT_FILE


def run_audit(config: TrainConfig, *, scan: DatasetScan | None = None,
              probabilities: ClassProbabilities | None = None,
              progress: Callable[[int, int], None] | None = None) -> dict:
    """Audit ``config``'s image folder with its split settings: duplicates, leakage and (given
    out-of-sample ``probabilities``) likely label errors. Returns the audit as a dict."""
    started = time.perf_counter()
    if scan is None or scan.root != data_dir_of(config):
        scan = scan_image_folder(data_dir_of(config), config.max_image_megapixels)
    split = split_dataset(scan, config)
    where = split_of(split)
    label_of = _class_of(scan)
    paths = sorted(label_of)
    hashes = hash_files(paths, progress=progress)
    groups = find_duplicates(hashes, config.near_duplicate_distance)

    def files(group: DuplicateGroup) -> list[dict]:
        return _files(group, label_of, where)

    audit = {
        "format": AUDIT_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "dataset": scan.root,
        "class_names": list(scan.class_names),
        "images": len(paths),
        "near_duplicate_distance": config.near_duplicate_distance,
        "split": ({"source": "folder"} if scan.presplit else
                  {"source": "settings", "val_fraction": config.val_fraction,
                   "test_fraction": config.test_fraction, "seed": config.seed}),
        "exact_duplicates": [{"files": files(g)} for g in groups if g.kind == "exact"],
        "near_duplicates": [{"files": files(g), "distance": g.distance} for g in groups if g.kind == "near"],
        "leakage": [{"kind": leak.group.kind, "files": files(leak.group),
                     "splits": sorted(set(leak.splits.values()))}
                    for leak in find_leakage(groups, where)],
        "label_issues": [],
        "label_check": {"source": None},
        "unhashed": [{"path": p, "reason": h.problem} for p, h in hashes.items() if h.problem],
        "moves": [],
    }
    if probabilities is not None:
        audit["label_issues"], audit["label_check"] = _label_section(probabilities, label_of, where, scan)
    audit["seconds"] = round(time.perf_counter() - started, 3)
    return audit


def _class_of(scan: DatasetScan) -> dict[str, str]:
    return {path: scan.class_names[label] for items in scan.samples.values() for path, label in items}


def _files(group: DuplicateGroup, label_of: dict, where: dict) -> list[dict]:
    """The audit's FILE entries of a group's members."""
    return [{"path": p, "class": label_of.get(p), "split": where.get(p)} for p in group.paths]


def _label_section(p: ClassProbabilities, label_of: dict, where: dict, scan: DatasetScan):
    if p.class_names != scan.class_names:
        raise AuditError(f"The classes of {p.folder} ({', '.join(p.class_names)}) are not the "
                         f"dataset's ({', '.join(scan.class_names)}): the folder changed since.")
    issues, notes = rank_label_issues(p)
    gone = [i for i in issues if i["path"] not in label_of]
    if gone:
        notes.append(f"{len(gone)} suspect(s) are no longer in the folder (moved or deleted) and are "
                     "left out.")
    kept = [{**i, "split": where.get(i["path"]), "rank": n}
            for n, i in enumerate((i for i in issues if i["path"] in label_of), start=1)]
    check = {"source": p.source, "path": p.folder, "checked": len(p.paths), "warning": p.warning,
             "notes": p.notes + notes}
    return kept, check


def write_audit(audit: dict, path: str | Path) -> Path:
    """Save ``audit`` as JSON at ``path`` (atomically: a temporary file, then a rename)."""
    path = Path(path)
    atomic_write_text(path, json.dumps(audit, indent=2) + "\n")
    return path


def read_audit(path: str | Path) -> dict:
    """An audit saved by :func:`write_audit`; AuditError saying what is wrong otherwise."""
    data, problem = read_json_object(Path(path))
    if problem:
        raise AuditError(problem)
    if data.get("format") != AUDIT_FORMAT:
        raise AuditError(f"{path} is not a Workbench audit (format {data.get('format')!r}).")
    for key in ("exact_duplicates", "near_duplicates", "leakage", "label_issues", "moves"):
        if not isinstance(data.get(key), list):
            raise AuditError(f"{path} is damaged ({key} is not a list).")
    return data


def leakage_for(audit: dict, scan: DatasetScan, config: TrainConfig) -> list[dict]:
    """The audit's duplicate groups that cross the split ``config`` makes of ``scan`` now (the
    settings may have changed since the audit): the audit's ``leakage`` entries, recomputed."""
    where = split_of(split_dataset(scan, config))
    groups = [DuplicateGroup(kind, tuple(f["path"] for f in entry["files"]), entry.get("distance", 0))
              for kind, key in (("exact", "exact_duplicates"), ("near", "near_duplicates"))
              for entry in audit[key]]
    label_of = _class_of(scan)
    return [{"kind": leak.group.kind, "files": _files(leak.group, label_of, where),
             "splits": sorted(set(leak.splits.values()))} for leak in find_leakage(groups, where)]


def summary_lines(audit: dict, limit: int = 10) -> list[str]:
    """The audit as the CLI prints it."""
    lines = [f"Audit of {audit['dataset']}: {audit['images']} images "
             f"(near-duplicates: perceptual hashes within {audit['near_duplicate_distance']} of 64 bits)"]
    sections = (("Exact duplicates", audit["exact_duplicates"]),
                ("Near-duplicates", audit["near_duplicates"]),
                ("Leakage (duplicates across train/val/test)", audit["leakage"]))
    for title, entries in sections:
        lines.append(f"{title}: {len(entries)} group(s)")
        for entry in entries[:limit]:
            extra = f" (distance {entry['distance']})" if "distance" in entry else ""
            if len({f["class"] for f in entry["files"]}) > 1:
                extra += " (in different classes)"
            lines.append("  " + " = ".join(f"{f['path']} [{f['class']}, {f['split'] or '-'}]"
                                           for f in entry["files"]) + extra)
        if len(entries) > limit:
            lines.append(f"  … and {len(entries) - limit} more")
    check = audit["label_check"]
    if check.get("source") is None:
        lines.append("Label errors: not checked (give --cv STUDY, or --run RUN).")
    else:
        lines.append(f"Likely label errors: {len(audit['label_issues'])} of {check['checked']} images "
                     f"checked ({check['source'].replace('_', '-')} {check['path']})")
        for issue in audit["label_issues"][:limit]:
            lines.append(f"  {issue['rank']:>3}. {issue['path']}: in '{issue['class']}' "
                         f"(p {issue['given_probability']:.2f}), looks like '{issue['suggested_class']}' "
                         f"(p {issue['suggested_probability']:.2f})")
        if len(audit["label_issues"]) > limit:
            lines.append(f"  … and {len(audit['label_issues']) - limit} more")
        if check.get("warning"):
            lines.append(f"Warning: {check['warning']}")
        lines += [f"Note: {note}" for note in check.get("notes", [])]
    if audit["unhashed"]:
        lines.append(f"{len(audit['unhashed'])} file(s) could not be hashed (see audit.json).")
    return lines
