"""Cross-validation: folds, the statistics and the recommendation against numbers worked out by
hand, a real tiny study with shared decoding and out-of-fold probabilities, and resuming one."""

import json
import math

import numpy as np
import pytest

from workbench.cli import main
from workbench.data.prepare import split_dataset
from workbench.data.scan import scan_image_folder
from workbench.engine import events as ev
from workbench.studies.cross_validation import (
    CrossValidation,
    curve_statistics,
    recommend_epochs,
    stratified_folds,
)


def test_folds_are_stratified_disjoint_and_cover_every_image_once():
    samples = [(f"{c}/{i}.png", c) for c in range(3) for i in range(10 + c)]  # 10, 11, 12 per class
    folds = stratified_folds(samples, 4, seed=1)
    flat = [s for fold in folds for s in fold]
    assert sorted(flat) == sorted(samples) and len(flat) == len(set(flat))
    for c, n in ((0, 10), (1, 11), (2, 12)):
        counts = [sum(1 for _, label in fold if label == c) for fold in folds]
        assert max(counts) - min(counts) <= 1 and sum(counts) == n
    assert stratified_folds(samples, 4, seed=1) == folds  # seeded
    assert max(map(len, folds)) - min(map(len, folds)) <= 1


def _history(losses, accs):
    rows = zip(losses, accs, strict=True)
    return [{"epoch": i + 1, "val_loss": lo, "val_acc": a} for i, (lo, a) in enumerate(rows)]


def test_curve_statistics_and_the_one_standard_error_rule_by_hand():
    histories = [_history([1.0, 0.50, 0.40, 0.45], [0.5, 0.7, 0.8, 0.8]),
                 _history([1.2, 0.60, 0.44, 0.41], [0.4, 0.6, 0.7, 0.9]),
                 _history([1.1, 0.55, 0.42, 0.40], [0.6, 0.8, 0.9, 0.7])]
    curve = curve_statistics(histories)
    assert [e["folds"] for e in curve] == [3, 3, 3, 3]
    assert curve[0]["val_loss_mean"] == pytest.approx(1.1)
    assert curve[0]["val_loss_std"] == pytest.approx(0.1)  # sample std of 1.0, 1.2, 1.1
    assert curve[2]["val_acc_mean"] == pytest.approx(0.8) and curve[2]["val_acc_std"] == pytest.approx(0.1)
    # Lowest mean loss: epoch 4 (0.42) vs epoch 3 (0.42 exactly: 0.40, 0.44, 0.42)
    means = [e["val_loss_mean"] for e in curve]
    assert means[2] == pytest.approx(0.42) and means[3] == pytest.approx(0.42)
    rec = recommend_epochs(curve, 3)
    lowest = min(curve, key=lambda e: e["val_loss_mean"])
    se = lowest["val_loss_std"] / math.sqrt(3)
    assert rec["lowest_loss_epoch"] == lowest["epoch"] and rec["standard_error"] == pytest.approx(se)
    # epoch 2's mean 0.55 is above 0.42 + se (se ≈ 0.013 or 0.026): epoch 3 is the smallest within it
    assert rec["recommended_epochs"] == 3 and rec["val_acc_mean"] == pytest.approx(0.8)


def test_epochs_not_reached_by_every_fold_are_not_recommended():
    curve = curve_statistics([_history([1.0, 0.5, 0.1], [0, 0, 0]), _history([1.0, 0.6], [0, 0])])
    assert curve[-1]["folds"] == 1
    assert recommend_epochs(curve, 2)["lowest_loss_epoch"] == 2


@pytest.fixture
def cv_config(fast_config):
    fast_config.batch_size = 4
    return fast_config


def test_a_tiny_study_end_to_end(cv_config, tmp_path):
    cv_config.test_fraction = 0.25  # 16 test images stay out of every fold
    seen = []
    study = CrossValidation(cv_config, tmp_path / "cv", folds=3)
    study.subscribe(lambda e: seen.append(e))
    summary = study.run()
    assert summary["complete"] and summary["folds_done"] == 3
    assert [e["epoch"] for e in summary["epochs"]] == [1, 2] and summary["recommended_epochs"] in (1, 2)
    assert all(f["status"] == "finished" and f["epochs_run"] == 2 for f in summary["fold_runs"])
    saved = json.loads((tmp_path / "cv" / "cv_summary.json").read_text())
    assert saved["recommended_epochs"] == summary["recommended_epochs"] and "rule" in saved
    # decoded once for the study, never by a fold
    logs = [e.message for e in seen if isinstance(e, ev.Log)]
    assert sum("once for all 3 folds" in m for m in logs) == 1
    assert not any(m.startswith("Decoding ") for m in logs)
    assert [e.fold for e in seen if isinstance(e, ev.FoldStart)] == [1, 2, 3]
    # out-of-fold probabilities: every non-test image exactly once
    oof = np.load(tmp_path / "cv" / "oof.npz")
    scan = scan_image_folder(cv_config.data_dir)
    split = split_dataset(scan, cv_config)
    assert sorted(oof["paths"].tolist()) == sorted(p for p, _ in split.train + split.val)
    assert oof["probabilities"].shape == (48, 4)
    assert np.allclose(oof["probabilities"].sum(1), 1, atol=1e-4)
    assert not set(oof["paths"].tolist()) & {p for p, _ in split.test}


def test_a_stopped_study_resumes_keeping_the_finished_folds(cv_config, tmp_path, capsys):
    study = CrossValidation(cv_config, tmp_path / "cv", folds=3)

    def stop_in_fold_two(event):
        if isinstance(event, ev.BatchEnd) and study.fold_dir(2).exists() and event.iteration == 2:
            study.request_stop()

    study.subscribe(stop_in_fold_two)
    first = study.run()
    assert not first["complete"] and first["folds_done"] == 1
    assert [f["status"] for f in first["fold_runs"]] == ["finished", "stopped", "not started"]
    kept = (tmp_path / "cv" / "fold-1" / "checkpoints" / "best.pt").read_bytes()
    assert main(["cv", "--resume", str(tmp_path / "cv"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "over 3 folds" in out
    assert (tmp_path / "cv" / "fold-1" / "checkpoints" / "best.pt").read_bytes() == kept  # not retrained
    final = json.loads((tmp_path / "cv" / "cv_summary.json").read_text())
    assert final["complete"] and [f["epochs_run"] for f in final["fold_runs"]] == [2, 2, 2]


def test_a_study_folder_that_exists_is_refused_and_a_missing_one_cannot_be_resumed(cv_config, tmp_path):
    (tmp_path / "cv").mkdir()
    (tmp_path / "cv" / "x").write_text("x")
    with pytest.raises(FileExistsError, match="--resume"):
        CrossValidation(cv_config, tmp_path / "cv", folds=3)
    assert main(["cv", "--resume", str(tmp_path / "nothing")]) == 1


def test_a_killed_study_resumes(cv_config, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    study = tmp_path / "cv"
    cmd = [sys.executable, "-m", "workbench", "cv", cv_config.data_dir, "--folds", "3", "--epochs", "2",
           "--image-size", "32", "--batch-size", "4", "--workers", "1", "--out", str(study), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (study / "fold-2" / "metrics.csv").exists() and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # during fold 2, after its first epoch
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    kept = (study / "fold-1" / "checkpoints" / "best.pt").read_bytes()
    summary = CrossValidation(cv_config, study, resume=True).run()
    assert summary["complete"] and [f["epochs_run"] for f in summary["fold_runs"]] == [2, 2, 2]
    assert (study / "fold-1" / "checkpoints" / "best.pt").read_bytes() == kept


def test_over_the_memory_budget_every_fold_reads_one_disk_cache_fill(cv_config, tmp_path):
    from workbench.data import disk_cache

    cv_config.cache_budget_mb, cv_config.epochs = 0, 1
    seen = []
    study = CrossValidation(cv_config, tmp_path / "cv", folds=2)
    study.subscribe(seen.append)
    assert study.run()["folds_done"] == 2
    logs = [e.message for e in seen if isinstance(e, ev.Log)]
    assert sum(m.startswith("Decoding 64 images at 32 px into the disk cache") for m in logs) == 1
    assert sum("All 2 folds read their 64 images from the disk cache" in m for m in logs) == 1
    assert not any("decoding from disk every epoch" in m for m in logs)
    assert [e.state for e in disk_cache.list_entries()] == ["ready"]
