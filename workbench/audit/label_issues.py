"""Likely label errors: images whose out-of-sample class probabilities disagree with their folder.

The probabilities come from a cross-validation study's ``oof.npz`` (every image scored by the
fold that did not train on it: the reliable source) or from one run's validation predictions
(only the validation images, by a model whose best epoch was chosen on them: weaker). cleanlab's
``find_label_issues`` picks the suspects and ranks them, least self-confident first.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RUN_WARNING = ("Label check from one run's validation predictions: only its validation images are "
               "checked, and its best epoch was chosen on them, so the ranking is weaker than a "
               "cross-validation study's (`workbench cv`, then `workbench audit --cv STUDY`).")


class AuditError(ValueError):
    """The audit cannot be made as asked; the message says why."""


@dataclass
class ClassProbabilities:
    """Out-of-sample probabilities: ``probabilities[i]`` is image ``paths[i]``'s, ``labels[i]`` the
    class index (in ``class_names``) it was trained and scored as."""

    paths: list[str]
    labels: np.ndarray
    probabilities: np.ndarray
    class_names: list[str]
    source: str  # "cross_validation" or "run"
    folder: str
    warning: str | None = None
    notes: list[str] = field(default_factory=list)


def from_cross_validation(folder: str | Path) -> ClassProbabilities:
    """A study's merged ``oof.npz`` and its class names (from a fold's summary)."""
    from workbench.runs import read_json_object
    from workbench.studies.cross_validation import OOF_FILE, STUDY_FILE, SUMMARY_FILE

    folder = Path(folder)
    if not (folder / STUDY_FILE).is_file():
        raise AuditError(f"{folder} is not a cross-validation study folder (no {STUDY_FILE}).")
    if not (folder / OOF_FILE).is_file():
        raise AuditError(f"{folder} has no {OOF_FILE} yet: let the study finish at least one fold.")
    try:
        with np.load(folder / OOF_FILE, allow_pickle=False) as npz:
            paths = [str(p) for p in npz["paths"]]
            labels = np.asarray(npz["labels"], dtype=np.int64)
            probabilities = np.asarray(npz["probabilities"], dtype=np.float64)
    except (OSError, ValueError, KeyError) as exc:
        raise AuditError(f"{folder / OOF_FILE} cannot be read ({exc}).") from exc
    class_names = None
    for fold in sorted(folder.glob("fold-*")):
        names = read_json_object(fold / "summary.json")[0].get("class_names")
        if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
            class_names = names
            break
    if class_names is None:
        raise AuditError(f"No fold of {folder} names its classes (summary.json).")
    notes = []
    summary = read_json_object(folder / SUMMARY_FILE)[0]
    if summary and not summary.get("complete", False):
        notes.append(f"The study finished {summary.get('folds_done', '?')} of {summary.get('folds', '?')} "
                     "folds: only those folds' images are checked.")
    return _checked(ClassProbabilities(paths, labels, probabilities, class_names, "cross_validation",
                                       str(folder), None, notes))


def from_run(folder: str | Path) -> ClassProbabilities:
    """The run's best checkpoint scoring its own validation split (rebuilt from config.json)."""
    from workbench.config import ConfigError, TrainConfig
    from workbench.data.prepare import data_dir_of, split_dataset
    from workbench.data.scan import scan_image_folder
    from workbench.models import WeightsError
    from workbench.predict import Predictor, softmax
    from workbench.runs import is_run_folder

    folder = Path(folder)
    if not is_run_folder(folder):
        raise AuditError(f"{folder} is not a Workbench run folder (no config.json and checkpoints/).")
    try:
        config = TrainConfig.load_json(folder / "config.json")
        predictor = Predictor.load(folder)
    except (ConfigError, WeightsError) as exc:
        raise AuditError(f"Cannot use the run {folder}: {exc}") from exc
    scan = scan_image_folder(data_dir_of(config), config.max_image_megapixels)
    if predictor.class_names != scan.class_names:
        raise AuditError(f"The dataset's classes {scan.class_names} differ from the run's "
                         f"{predictor.class_names}: the folder changed since the run.")
    val = split_dataset(scan, config).val
    if not val:
        raise AuditError(f"The run {folder} has no validation split to check labels with.")
    paths, labels, images, notes = [], [], [], []
    for path, label in val:
        try:
            images.append(predictor.read_image(path))
        except Exception:  # noqa: BLE001 — an unreadable image is left out, and counted
            continue
        paths.append(path)
        labels.append(label)
    if len(paths) < len(val):
        notes.append(f"{len(val) - len(paths)} validation image(s) could not be read and are not checked.")
    probabilities = softmax(predictor.logits(images))
    return _checked(ClassProbabilities(paths, np.array(labels, dtype=np.int64), probabilities,
                                       list(predictor.class_names), "run", str(folder), RUN_WARNING, notes))


def _checked(p: ClassProbabilities) -> ClassProbabilities:
    n, k = len(p.paths), len(p.class_names)
    if p.probabilities.shape != (n, k) or p.labels.shape != (n,):
        raise AuditError(f"The probabilities in {p.folder} do not match: {p.probabilities.shape} for "
                         f"{n} images and {k} classes.")
    if n and (p.labels.min() < 0 or p.labels.max() >= k):
        raise AuditError(f"The labels in {p.folder} are outside the {k} classes.")
    if n and not np.all(np.isfinite(p.probabilities)):
        raise AuditError(f"The probabilities in {p.folder} are not all finite numbers.")
    return p


def rank_label_issues(p: ClassProbabilities) -> tuple[list[dict], list[str]]:
    """The suspects, most likely mislabelled first, and cleanlab's notes (too few examples …).

    Each: ``{"path", "class", "suggested_class", "given_probability", "suggested_probability"}``;
    the given class's probability is the rank's key (cleanlab's self-confidence).
    """
    if len(p.paths) < 2 or len(set(p.labels.tolist())) < 2:
        return [], ["Too few images with probabilities to look for label errors."]
    from cleanlab.filter import find_label_issues

    rows = p.probabilities / p.probabilities.sum(axis=1, keepdims=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # n_jobs=1: cleanlab's default forks worker processes, which a window (or a 2-core
            # machine) does not want for a few thousand rows.
            ranked = find_label_issues(p.labels, rows, return_indices_ranked_by="self_confidence", n_jobs=1)
        except (ValueError, AssertionError) as exc:
            raise AuditError(f"cleanlab could not check these labels: {exc}") from exc
    notes = sorted({str(w.message) for w in caught})
    issues = []
    for i in ranked:
        given, best = int(p.labels[i]), int(np.argmax(rows[i]))
        issues.append({"path": p.paths[i], "class": p.class_names[given],
                       "suggested_class": p.class_names[best],
                       "given_probability": round(float(rows[i, given]), 6),
                       "suggested_probability": round(float(rows[i, best]), 6)})
    return issues, notes


def probability_sources(data_dir: str, runs_root: str | Path) -> list[tuple[str, str]]:
    """``(kind, folder)`` of the cross-validation studies (with an oof.npz) and the runs of
    ``data_dir`` under ``runs_root``, studies first, newest first: what can check its labels."""
    from workbench.runs import list_runs, read_json_object

    root, data_dir = Path(runs_root), str(Path(data_dir).resolve())
    studies = []
    for study in (root / "cv").glob("*/oof.npz") if (root / "cv").is_dir() else ():
        config = read_json_object(study.parent / "study_config.json")[0]
        if isinstance(config.get("data_dir"), str) and str(Path(config["data_dir"]).resolve()) == data_dir:
            studies.append(study.parent)
    studies.sort(key=lambda p: p.name, reverse=True)  # named by their start time
    runs = [r.path for r in list_runs(root) if r.status in ("finished", "stopped")
            and r.dataset and str(Path(r.dataset).resolve()) == data_dir]
    return [("cross_validation", str(s)) for s in studies] + [("run", str(r)) for r in runs]
