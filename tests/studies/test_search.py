"""The settings search on Optuna: spaces, trials as run folders, pruning, resume, several workers."""

import json
import subprocess
import sys

import pytest

from workbench.config import ConfigError, TrainConfig
from workbench.engine import events as ev
from workbench.runs import list_runs
from workbench.studies.search import Search
from workbench.studies.search_space import check_space, config_for, load_space

LR_ONLY = {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}


def test_spaces_from_json_and_yaml_and_their_refusals(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(LR_ONLY))
    (tmp_path / "s.yaml").write_text("batch_size:\n  type: categorical\n  choices: [4, 8]\n")
    assert load_space(tmp_path / "s.json") == LR_ONLY
    assert load_space(tmp_path / "s.yaml") == {"batch_size": {"type": "categorical", "choices": [4, 8]}}
    assert "lr" in load_space(None) and "augment_strength" in load_space(None)
    with pytest.raises(ConfigError) as refused:
        check_space({"colour": {"type": "float"}, "lr": {"type": "float", "low": 0, "high": 1, "log": True},
                     "batch_size": {"type": "categorical", "choices": []}})
    assert len(refused.value.problems) == 3 and "unknown setting 'colour'" in refused.value.problems[0]
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_space(tmp_path / "bad.json")


def test_a_trial_config_applies_the_params_and_scales_augmentation():
    base = TrainConfig()
    config = config_for(base, {"lr": 0.01, "optimizer": "sgd", "augment_strength": 2.0})
    assert (config.lr, config.optimizer) == (0.01, "sgd")
    assert config.augment.rotation_range == 2 * base.augment.rotation_range
    assert base.lr == TrainConfig().lr  # the fixed part is not changed
    with pytest.raises(ConfigError):
        config_for(base, {"batch_size": 0})


@pytest.fixture
def search_config(fast_config):
    fast_config.epochs = 2
    return fast_config


def test_a_small_search_runs_its_trials_as_run_folders_and_summarises(search_config, tmp_path):
    summary = Search(search_config, tmp_path / "s", 3, sampler="random", pruner="none", space=LR_ONLY).run()
    assert (summary["complete"], summary["pruned"], summary["failed"]) == (3, 0, 0)
    best = summary["best"]
    values = [t["value"] for t in summary["trials"]]
    assert best["value"] == min(values) and set(best["params"]) == {"lr"}
    saved = json.loads((tmp_path / "s" / "search_summary.json").read_text())
    assert saved["best"]["number"] == best["number"] and len(saved["trials"]) == 3
    runs = list_runs(tmp_path / "s")
    assert len(runs) == 3 and {r.status for r in runs} == {"finished"}
    config = json.loads((tmp_path / "s" / f"trial-{best['number']:04d}" / "config.json").read_text())
    assert config["lr"] == pytest.approx(best["params"]["lr"])  # the trial's config re-runs it
    assert (tmp_path / "s" / "study.db").stat().st_size > 0


def test_a_pruned_trial_stops_at_once_and_keeps_its_run_folder(search_config, tmp_path, monkeypatch):
    import optuna

    search_config.epochs = 3
    study = Search(search_config, tmp_path / "s", 2, sampler="random", pruner="median", space=LR_ONLY)
    monkeypatch.setattr(study, "_pruner", lambda: optuna.pruners.ThresholdPruner(upper=0.0))  # any loss
    summary = study.run()
    assert summary["pruned"] == 2 and summary["complete"] == 0 and summary["best"] is None
    for trial in summary["trials"]:
        run = json.loads((tmp_path / "s" / f"trial-{trial['number']:04d}" / "summary.json").read_text())
        assert run["status"] == "pruned" and run["stopped_epoch"] == 1
        assert "pruned by the search after epoch 1" in run["stop_reason"]


def test_a_stopped_search_resumes_up_to_its_number_of_trials(search_config, tmp_path):
    study = Search(search_config, tmp_path / "s", 2, sampler="random", pruner="none", space=LR_ONLY)
    study.subscribe(lambda e: isinstance(e, ev.RunEnd) and study.request_stop())
    first = study.run()
    assert first["complete"] == 1
    resumed = Search(None, tmp_path / "s", resume=True).run()
    assert resumed["complete"] == 2 and len(resumed["trials"]) == 2


def test_two_processes_search_one_sqlite_study_together(search_config, tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps(LR_ONLY))
    cmd = [sys.executable, "-m", "workbench", "search", search_config.data_dir, "--trials", "3",
           "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--workers", "1",
           "--sampler", "random", "--pruner", "none", "--space", str(space),
           "--out", str(tmp_path / "s"), "--quiet"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    summary = json.loads((tmp_path / "s" / "search_summary.json").read_text())
    numbers = [t["number"] for t in summary["trials"]]
    assert len(numbers) == len(set(numbers)) and summary["complete"] >= 3  # none lost, none twice
    assert summary["failed"] == 0
    drawn = [t["params"]["lr"] for t in summary["trials"]]
    assert len(set(drawn)) == len(drawn)  # each worker draws its own settings
    assert all((tmp_path / "s" / f"trial-{n:04d}" / "summary.json").exists() for n in numbers)


def test_trials_share_one_decode_and_a_failed_trial_does_not_end_the_search(search_config, tmp_path):
    space = {"batch_size": {"type": "categorical", "choices": [8, 1000]}}  # 1000: larger than the set
    study = Search(search_config, tmp_path / "s", 3, sampler="random", pruner="none", space=space)
    logs = []
    study.subscribe(lambda e: isinstance(e, ev.Log) and logs.append(e.message))
    summary = study.run()
    assert summary["complete"] == 3 and summary["best"]["params"] == {"batch_size": 8}
    failed = [t for t in summary["trials"] if t["state"] == "fail"]
    assert failed and all("larger than the" in t["error"] for t in failed)
    assert sum(m.startswith("Decoding ") for m in logs) == 1  # one decode for every trial


def test_a_space_whose_every_trial_fails_ends_the_search(search_config, tmp_path):
    space = {"batch_size": {"type": "categorical", "choices": [1000]}}
    summary = Search(search_config, tmp_path / "s", 2, sampler="random", pruner="none", space=space).run()
    assert (summary["complete"], summary["failed"], summary["best"]) == (0, 7, None)  # 2 × 2 + 3


def test_a_search_stopped_mid_trial_finishes_the_epoch_and_its_resume_continues_that_trial(
        search_config, tmp_path):
    search_config.epochs = 3
    study = Search(search_config, tmp_path / "s", 2, sampler="random", pruner="none", space=LR_ONLY)
    seen = []
    study.subscribe(seen.append)
    study.subscribe(lambda e: isinstance(e, ev.EpochEnd) and e.epoch == 1 and study.request_stop())
    first = study.run()
    ends = [e for e in seen if isinstance(e, ev.TrialEnd)]
    assert [(e.number, e.state, e.epochs) for e in ends] == [(0, "stopped", 1)]
    assert [t["state"] for t in first["trials"]] == ["stopped"] and first["complete"] == 0

    resumed_events = []
    resumed = Search(None, tmp_path / "s", resume=True)
    resumed.subscribe(resumed_events.append)
    summary = resumed.run()
    start = next(e for e in resumed_events if isinstance(e, ev.SearchStart))
    assert [row["state"] for row in start.earlier] == ["stopped"]
    trials = [e for e in resumed_events if isinstance(e, ev.TrialStart)]
    assert (trials[0].number, trials[0].continues) == (0, True)  # the stopped trial, continued
    runs = [e for e in resumed_events if isinstance(e, ev.RunStart)]
    assert runs[0].start_epoch == 2 and len(runs[0].history) == 1
    assert summary["complete"] == 2 and [t["epochs"] for t in summary["trials"]] == [3, 3]
