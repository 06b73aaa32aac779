"""Run history: listing run folders with what a person needs to tell them apart, and deleting one."""

import json
import shutil
from datetime import datetime, timedelta

import pytest

from workbench.runs import delete_run, list_runs, read_run_info


def _copy(run, root, name):
    dest = root / name
    shutil.copytree(run, dest)
    return dest


def _set_start(run, when: datetime):
    log = run / "train.log"
    lines = log.read_text().splitlines(keepends=True)
    lines[0] = when.strftime("%Y-%m-%d %H:%M:%S") + lines[0][19:]
    log.write_text("".join(lines))


def test_a_real_run_is_listed_with_model_dataset_epochs_and_best_metric(trained_run, tiny_data):
    [info] = list_runs(trained_run.parent)
    summary = json.loads((trained_run / "summary.json").read_text())
    assert info.path == trained_run and info.name == trained_run.name
    assert info.model == "small_cnn" and info.dataset == str(tiny_data)
    assert info.epochs_run == 2 and info.status == "finished"
    assert info.best_metric == "val_loss" and info.best_value == pytest.approx(summary["best_value"])
    assert abs(datetime.now() - info.created) < timedelta(hours=1)


def test_runs_are_newest_first_and_other_folders_are_skipped(trained_run, tmp_path):
    old = _copy(trained_run, tmp_path, "old")
    new = _copy(trained_run, tmp_path, "new")
    _set_start(old, datetime(2024, 1, 1, 9, 0, 0))
    _set_start(new, datetime(2025, 6, 1, 9, 0, 0))
    (tmp_path / "holiday photos").mkdir()
    (tmp_path / "notes.txt").write_text("not a run")
    broken = tmp_path / "broken"
    (broken / "checkpoints").mkdir(parents=True)
    (broken / "config.json").write_text("{not json")
    runs = [r for r in list_runs(tmp_path) if r.name != "broken"]
    assert [r.name for r in runs] == ["new", "old"]
    assert runs[1].created == datetime(2024, 1, 1, 9, 0, 0)
    # A run whose config.json is damaged is still listed (tests/test_hostile_runs.py), saying so.
    [damaged] = [r for r in list_runs(tmp_path) if r.name == "broken"]
    assert damaged.status == "damaged" and "config.json is damaged (not valid JSON" in damaged.note


def test_a_killed_run_without_summary_is_incomplete_with_metrics_from_the_csv(trained_run, tmp_path):
    run = _copy(trained_run, tmp_path, "killed")
    (run / "summary.json").unlink()
    info = read_run_info(run)
    assert info.status == "incomplete" and info.epochs_run == 2
    rows = (run / "metrics.csv").read_text().splitlines()[1:]
    val_losses = [float(r.split(",")[3]) for r in rows]
    assert info.best_metric == "val_loss" and info.best_value == pytest.approx(min(val_losses))
    summary = json.loads((trained_run / "summary.json").read_text())
    summary["status"] = "running"  # the trainer's state while alive; left behind by a kill
    (run / "summary.json").write_text(json.dumps(summary))
    assert read_run_info(run).status == "incomplete"


def test_a_run_that_never_finished_an_epoch_has_no_best_metric(trained_run, tmp_path):
    run = _copy(trained_run, tmp_path, "empty")
    for name in ("summary.json", "metrics.csv", "train.log"):
        (run / name).unlink()
    info = read_run_info(run)
    assert info.epochs_run == 0 and info.best_metric is None and info.best_value is None
    assert info.status == "incomplete"


def test_missing_root_lists_nothing_and_default_root_is_used(tmp_path, monkeypatch, trained_run):
    assert list_runs(tmp_path / "nowhere") == []
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path))
    _copy(trained_run, tmp_path, "mine")
    assert [r.name for r in list_runs()] == ["mine"]


def test_delete_removes_a_run_and_refuses_anything_else(trained_run, tmp_path):
    run = _copy(trained_run, tmp_path, "doomed")
    delete_run(run)
    assert not run.exists()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ValueError, match="not a Workbench run folder"):
        delete_run(precious)
    with pytest.raises(ValueError, match="does not exist"):
        delete_run(tmp_path / "gone")
    assert (precious / "thesis.tex").read_text() == "years of work"
    link = tmp_path / "link"
    link.symlink_to(_copy(trained_run, tmp_path, "target"))
    with pytest.raises(ValueError, match="link"):
        delete_run(link)
    assert (tmp_path / "target" / "config.json").exists()
