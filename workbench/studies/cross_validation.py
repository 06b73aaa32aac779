"""k-fold cross-validation: learning curves over folds and a recommended number of epochs.

A study folder ``CV/`` holds ``study.json`` (the settings and the fold count), one ordinary run
folder per fold (``fold-1/`` …), ``cv_summary.json`` and ``oof.npz`` (every image's out-of-fold
class probabilities). Folds are stratified and seeded; the held-out test set (``test_fraction``
or a ``test/`` folder) is left out of every fold. The images are decoded once for the whole
study and each fold takes its part of that cache. Each fold trains the full epoch budget unless
early stopping is asked for, so every fold's whole curve is seen.

A stopped or killed study resumes: finished folds are kept, an interrupted fold continues from
its last checkpoint (``Trainer(resume=…)``), the rest are trained.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workbench.config import ConfigError, TrainConfig
from workbench.data.loader import MappedImages, load_images
from workbench.data.prepare import PreparedData, data_dir_of, open_disk_cache, split_dataset
from workbench.data.scan import DatasetError, scan_image_folder
from workbench.engine import events as ev
from workbench.engine.callbacks import Callback
from workbench.engine.trainer import Trainer, TrainingError
from workbench.runs import RunFolder, atomic_write_bytes, atomic_write_text, is_run_folder, read_json_object
from workbench.studies.base import TrainerStudy

STUDY_FILE = "study.json"
SUMMARY_FILE = "cv_summary.json"
OOF_FILE = "oof.npz"
DONE = ("finished",)  # a fold with this status is kept on resume


def stratified_folds(samples: list[tuple[str, int]], k: int, seed: int) -> list[list[tuple[str, int]]]:
    """``k`` disjoint folds covering every sample once, each class dealt round-robin after a
    seeded shuffle (so every fold holds ⌊n/k⌋ or ⌈n/k⌉ images of each class)."""
    by_class: dict[int, list[tuple[str, int]]] = {}
    for item in sorted(samples):
        by_class.setdefault(item[1], []).append(item)
    rng = random.Random(seed)
    folds: list[list[tuple[str, int]]] = [[] for _ in range(k)]
    offset = 0
    for label in sorted(by_class):
        items = by_class[label]
        rng.shuffle(items)
        for i, item in enumerate(items):
            folds[(offset + i) % k].append(item)
        offset += len(items)  # the next class starts where this one stopped: folds stay even
    return folds


def curve_statistics(histories: list[list[dict]]) -> list[dict]:
    """Per epoch: mean and sample standard deviation over folds of validation loss and accuracy,
    and how many folds reached that epoch."""
    epochs = sorted({row["epoch"] for history in histories for row in history})
    out = []
    for epoch in epochs:
        rows = [row for history in histories for row in history if row["epoch"] == epoch]
        entry = {"epoch": epoch, "folds": len(rows)}
        for key in ("val_loss", "val_acc"):
            values = np.array([row[key] for row in rows], dtype=float)
            entry[f"{key}_mean"] = float(values.mean())
            entry[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out.append(entry)
    return out


def recommend_epochs(curve: list[dict], folds: int) -> dict:
    """The epoch of lowest mean validation loss, and the smallest epoch whose mean is within one
    standard error of it (the one-standard-error rule, recommended: as good within the noise, and
    cheaper). Only epochs every fold reached are considered."""
    full = [e for e in curve if e["folds"] == folds]
    if not full:
        return {}
    lowest = min(full, key=lambda e: e["val_loss_mean"])
    se = lowest["val_loss_std"] / math.sqrt(folds)
    one_se = next(e for e in full if e["val_loss_mean"] <= lowest["val_loss_mean"] + se)
    return {
        "recommended_epochs": one_se["epoch"],
        "rule": "one standard error: the smallest epoch whose mean validation loss is within one "
                "standard error of the lowest",
        "lowest_loss_epoch": lowest["epoch"],
        "standard_error": se,
        "val_acc_mean": one_se["val_acc_mean"],
        "val_acc_std": one_se["val_acc_std"],
        "val_loss_mean": one_se["val_loss_mean"],
    }


class _OutOfFold(Callback):
    """Saves the fold's final validation scoring (best weights) as ``fold-i/oof.npz``."""

    def on_run_end(self, run) -> None:
        final = run.final_evaluation
        if final is None:
            return
        _write_npz(run.run_folder.path / OOF_FILE, paths=np.array(run.data.val.paths),
                   labels=np.array(final["labels"]), probabilities=final["probabilities"].numpy())


class CrossValidation(TrainerStudy):
    """One study. ``run()`` trains the folds still to do and writes the summary."""

    def __init__(self, config: TrainConfig, out: str | Path, folds: int = 5, *,
                 early_stopping: bool = False, resume: bool = False):
        super().__init__()
        self.out = Path(out)
        if resume:
            config, folds, early_stopping = _read_study(self.out)
        elif self.out.exists() and any(self.out.iterdir()):
            raise FileExistsError(f"Study folder {self.out} already exists and is not empty; choose "
                                  f"another --out, or continue it with --resume {self.out}.")
        if not 2 <= folds <= 50:
            raise ConfigError([f"folds must be between 2 and 50, got {folds}"])
        self.config = dataclasses.replace(config, early_stopping=early_stopping).validate()
        self.folds, self.early_stopping = folds, early_stopping

    def fold_dir(self, i: int) -> Path:
        return self.out / f"fold-{i}"

    def run(self) -> dict:
        started = time.perf_counter()
        cfg = self.config
        scan = scan_image_folder(data_dir_of(cfg), cfg.max_image_megapixels)
        split = split_dataset(scan, cfg)
        samples = split.train + split.val  # the test set stays out of every fold
        folds = stratified_folds(samples, self.folds, cfg.seed)
        if min(len(f) for f in folds) < 2:
            raise DatasetError(f"{len(samples)} images are too few for {self.folds} folds; use fewer folds.")
        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out / STUDY_FILE, json.dumps(
            {"config": cfg.to_dict(), "folds": self.folds, "early_stopping": self.early_stopping}, indent=2))
        cfg.save_json(self.out / "study_config.json")  # `workbench train --config` takes it as it is
        shared = self._decode(scan, samples)
        for i, val in enumerate(folds, start=1):
            if self._stopped:
                break
            folder = self.fold_dir(i)
            if _fold_status(folder) in DONE:
                continue
            held_out = set(val)
            train = [s for s in samples if s not in held_out]
            data = PreparedData(scan, _part(shared, train, cfg), _part(shared, val, cfg))
            self._train_fold(i, folder, data)
        summary = self._summarise(time.perf_counter() - started)
        self.events.emit(ev.StudyEnd(summary=summary))
        return summary

    def _decode(self, scan, samples):
        """All the study's images decoded once: into memory, or over the cache budget into the
        disk cache; None when neither can hold them (each fold then streams its images)."""
        from workbench.data.loader import cache_bytes

        cfg = self.config
        if cache_bytes(len(samples), cfg.image_size) > cfg.cache_budget_mb * 2**20:
            folder = open_disk_cache(scan, cfg, log=self._log)
            if folder is None:
                return None
            images = MappedImages.select(folder, samples)
            self._log(f"All {self.folds} folds read their {len(images)} images from the disk cache.")
            for path, reason in images.failed:
                self._log(f"Skipped {path}: {reason}")
            return images
        started = time.perf_counter()
        images = load_images(samples, cfg.image_size, cache=True, workers=cfg.workers)
        self._log(f"Decoded {len(images)} images once for all {self.folds} folds in "
                  f"{time.perf_counter() - started:.1f} s.")
        for path, reason in images.failed:
            self._log(f"Skipped {path}: {reason}")
        return images

    def _train_fold(self, i: int, folder: Path, data: PreparedData) -> None:
        resume = is_run_folder(folder)
        if folder.exists() and not resume:
            # Killed before the fold wrote its config: only the empty folder and its lock are
            # there (this folder is the study's own), so start the fold afresh.
            shutil.rmtree(folder)
        self.events.emit(ev.FoldStart(fold=i, folds=self.folds, run_dir=str(folder)))
        self._trainer = trainer = Trainer(self.config, out=None if resume else folder,
                                          resume=folder if resume else None, data=data,
                                          callbacks=[_OutOfFold()])
        trainer.subscribe(self.events.emit)
        if self._stopped:
            trainer.request_stop()
        summary = trainer.run()
        self._trainer = None
        self.events.emit(ev.FoldEnd(fold=i, folds=self.folds, run_dir=str(folder), status=summary["status"],
                                    history=list(trainer.history)))
        if summary["status"] not in DONE:
            self._stopped = True  # a stopped or failed fold ends the study; resume continues it

    def _summarise(self, seconds: float) -> dict:
        histories, folds, done = [], [], 0
        for i in range(1, self.folds + 1):
            folder = RunFolder(self.fold_dir(i))
            status = _fold_status(folder.path)
            history = folder.read_metrics() if folder.metrics_path.exists() else []
            summary = _read_json(folder.summary_path)
            folds.append({"fold": i, "run_dir": str(folder.path), "status": status or "not started",
                          "best_epoch": summary.get("best_epoch"), "best_value": summary.get("best_value"),
                          "epochs_run": len(history), "seconds": summary.get("total_seconds")})
            if status in DONE:
                done += 1
                histories.append(history)
        curve = curve_statistics(histories)
        summary = {"folds": self.folds, "complete": done == self.folds, "folds_done": done,
                   "monitor": "val_loss", "epochs": curve, "fold_runs": folds,
                   "early_stopping": self.early_stopping, "seconds": seconds,
                   "config": self.config.to_dict(), **recommend_epochs(curve, done)}
        if done:
            self._merge_out_of_fold()
            if "recommended_epochs" in summary:
                self._log(describe(summary))
        atomic_write_text(self.out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
        return summary

    def _merge_out_of_fold(self) -> None:
        parts = [np.load(self.fold_dir(i) / OOF_FILE) for i in range(1, self.folds + 1)
                 if (self.fold_dir(i) / OOF_FILE).exists()]
        if not parts:
            return
        _write_npz(self.out / OOF_FILE, **{key: np.concatenate([p[key] for p in parts])
                                           for key in ("paths", "labels", "probabilities")})



def describe(summary: dict) -> str:
    """E.g. "12 epochs: mean validation accuracy 94.1 % ± 1.2 % over 5 folds"."""
    if "recommended_epochs" not in summary:
        return f"No recommendation yet: {summary['folds_done']} of {summary['folds']} folds finished."
    return (f"{summary['recommended_epochs']} epochs: mean validation accuracy "
            f"{summary['val_acc_mean']:.1%} ± {summary['val_acc_std']:.1%} over {summary['folds_done']} "
            f"folds (lowest mean validation loss at epoch {summary['lowest_loss_epoch']}; "
            "recommended by the one-standard-error rule)").replace("%", " %")


def _part(shared, samples: list[tuple[str, int]], cfg: TrainConfig):
    if shared is None:
        return load_images(samples, cfg.image_size, cache=False, workers=cfg.workers)
    position = {path: i for i, path in enumerate(shared.paths)}
    return shared.subset([position[p] for p, _ in samples if p in position])


def _write_npz(path: Path, **arrays) -> None:
    """``np.savez`` through a temp file and a rename, like every file of a run."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _fold_status(folder: Path) -> str | None:
    return _read_json(folder / "summary.json").get("status")


def _read_json(path: Path) -> dict:
    """The JSON object at ``path``, or {} when it is missing or damaged."""
    return read_json_object(path)[0]


def _read_study(out: Path) -> tuple[TrainConfig, int, bool]:
    data = _read_json(out / STUDY_FILE)
    if not data:
        raise TrainingError(f"{out} is not a cross-validation study folder (no readable {STUDY_FILE}).")
    try:
        return TrainConfig.from_dict(data["config"]), int(data["folds"]), bool(data["early_stopping"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TrainingError(f"{out / STUDY_FILE} is damaged ({exc}).") from exc


def cross_validate(config: TrainConfig, out: str | Path, folds: int = 5, *, early_stopping: bool = False,
                   resume: bool = False, subscribe: Callable[[ev.Event], None] | None = None) -> dict:
    """Run (or resume) a study and return its summary."""
    study = CrossValidation(config, out, folds, early_stopping=early_stopping, resume=resume)
    if subscribe is not None:
        study.subscribe(subscribe)
    return study.run()
