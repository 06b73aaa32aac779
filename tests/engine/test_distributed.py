"""Two processes under ``torchrun`` (gloo on the CPU): one run folder, the same metrics as one
process, disjoint shards, identical weights, and a stop that reaches both processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.trainer import Trainer
from workbench.runs import RunFolder


def _torchrun(config_path: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "workbench", "train", "--config", str(config_path), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def test_two_processes_train_one_run_like_a_single_process(fast_config, tmp_path):
    fast_config.restore_best_weights = False  # the summary then checks the trained weights
    config_path = tmp_path / "config.json"
    fast_config.save_json(config_path)
    runs = tmp_path / "ddp-runs"
    proc = _torchrun(config_path, "--runs-dir", str(runs), "--events-jsonl", str(tmp_path / "ev.jsonl"))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]

    folders = list(runs.iterdir())
    assert len(folders) == 1  # only rank 0 created a run folder
    run = RunFolder(folders[0])
    summary = run.read_json(run.summary_path)
    assert summary["status"] == "finished" and summary["processes"] == 2
    assert summary["effective_batch_size"] == 2 * fast_config.batch_size
    assert summary["weights_identical_across_processes"] is True
    log = run.log_path.read_text()
    assert "Epoch 1: 2 processes trained on 26 images each; 0 images seen by more than one process" in log
    assert log.count("Workbench ") == 1  # the other process wrote nothing to the log
    last = load_checkpoint(run.checkpoint_path("last"))
    assert last["epoch"] == 2
    # The epoch's validation, scored in two halves and summed, is that of the whole set (the
    # final report scores all of it in one process with the same weights).
    assert abs(last["history"][-1]["val_loss"] - summary["final_val_loss"]) < 1e-5
    assert last["history"][-1]["val_acc"] == summary["final_val_acc"]
    best = load_checkpoint(run.checkpoint_path("best"))
    assert not any(k.startswith("module.") for k in best["model"])
    # Both processes fitted the same temperature; rank 0 stored it and alone wrote TensorBoard files.
    assert best["calibration"]["temperature"] == summary["calibration"]["temperature"]
    assert len(list((run.path / "tensorboard").glob("events.out.tfevents.*"))) == 1

    single = Trainer(fast_config, out=tmp_path / "single")
    single.run()
    one = RunFolder(tmp_path / "single").read_metrics()
    two = run.read_metrics()
    assert [list(r) for r in two] == [list(r) for r in one] and len(two) == 2

    events = _events(tmp_path / "ev.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "run_end" and kinds.count("epoch_end") == 2
    start = next(e for e in events if e["event"] == "run_start")
    # 52 training images split over 2 processes at batch 8: 26 each → 8+8+8+2, 4 steps per epoch
    assert start["iterations_per_epoch"] == 4
    assert kinds.count("batch_end") == 2 * 4
    assert out.count("Run folder:") == 1  # only rank 0 reports


def test_stop_file_stops_both_processes_after_the_same_batch(fast_config, tmp_path):
    fast_config.epochs = 200
    config_path = tmp_path / "config.json"
    fast_config.save_json(config_path)
    events_path, stop = tmp_path / "ev.jsonl", tmp_path / "STOP"
    out = tmp_path / "run"
    proc = _torchrun(config_path, "--out", str(out), "--events-jsonl", str(events_path),
                     "--stop-file", str(stop))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if any(e["event"] == "epoch_end" for e in _events(events_path)):
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    stop.touch()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]  # torchrun saw both processes end normally

    run = RunFolder(out)
    summary = run.read_json(run.summary_path)
    assert summary["status"] == "stopped" and "stopped by user" in summary["stop_reason"]
    assert summary["stopped_epoch"] < 200
    last = load_checkpoint(run.checkpoint_path("last"))
    assert last["epoch"] == summary["stopped_epoch"] == len(run.read_metrics())
    assert summary["weights_identical_across_processes"] is True
    assert _events(events_path)[-1]["event"] == "run_end"

    # Resume under torchrun: rank 0 reads last.pt, every process loads it, one more epoch.
    before = run.read_metrics()
    more = str(summary["stopped_epoch"] + 1)
    proc = _torchrun(out / "config.json", "--resume", str(out), "--epochs", more)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    after = run.read_metrics()
    assert len(after) == len(before) + 1 and after[:-1] == before
    assert f"Resumed after epoch {summary['stopped_epoch']} of {more}." in run.log_path.read_text()


def test_two_processes_split_one_balanced_draw(fast_config, tmp_path):
    fast_config.balanced_sampler, fast_config.epochs = True, 1
    config_path = tmp_path / "config.json"
    fast_config.save_json(config_path)
    out = tmp_path / "ddp-balanced"
    proc = _torchrun(config_path, "--out", str(out))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    log = RunFolder(out).log_path.read_text()
    assert "Epoch 1: 2 processes trained on 26 images each of one balanced draw." in log
    assert "drew different orders" not in log and "seen by more than one process" not in log
