"""The training loop on a tiny real dataset: run folder, events, stop, NaN, resume."""

import csv
import json

import pytest
import torch

from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.trainer import Trainer, TrainingError


def _run(config, out, **kwargs):
    trainer = Trainer(config, out=out, **kwargs)
    events = []
    trainer.subscribe(events.append)
    return trainer, events


def test_a_run_writes_the_run_folder_contract(fast_config, tmp_path):
    trainer, events = _run(fast_config, tmp_path / "run")
    summary = trainer.run()
    run = tmp_path / "run"
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "small_cnn" and config["epochs"] == 2
    with open(run / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
    saved = json.loads((run / "summary.json").read_text())
    assert saved["class_names"] == ["circle", "square", "star", "triangle"]
    assert saved["status"] == "finished" and saved["stop_reason"] == "completed all 2 epochs"
    assert saved["best_epoch"] in (1, 2) and saved["stopped_epoch"] == 2
    assert saved["device"] == "cpu" and saved["total_train_images"] > 0
    assert len(saved["confusion_matrix"]) == 4 and len(saved["per_class"]) == 4
    assert summary["best_value"] == pytest.approx(float(rows[saved["best_epoch"] - 1]["val_loss"]), rel=1e-4)
    assert (run / "scan_report.json").exists() and "Training small_cnn" in (run / "train.log").read_text()
    for which in ("best", "last"):
        state = load_checkpoint(run / "checkpoints" / f"{which}.pt")
        assert {"model", "optimizer", "schedule", "epoch", "config"} <= set(state)
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 2


def test_events_arrive_in_order_with_plain_values(fast_config, tmp_path):
    trainer, events = _run(fast_config, tmp_path / "run")
    trainer.run()
    kinds = [e.kind for e in events if e.kind not in ("log", "cache_progress")]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    start = next(e.data for e in events if e.kind == "run_start")
    batches = [e.data for e in events if e.kind == "batch_end"]
    assert len(batches) == 2 * start["iterations_per_epoch"]
    assert [b["iteration"] for b in batches[: start["iterations_per_epoch"]]] == list(
        range(1, start["iterations_per_epoch"] + 1))
    epochs = [e.data for e in events if e.kind == "epoch_end"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    expected = {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds", "images_per_sec"}
    assert expected <= set(epochs[0])
    json.dumps([e.to_dict() for e in events])  # every payload is plain data
    assert any(e.kind == "checkpoint_saved" and e.data["which"] == "best" for e in events)


def test_stop_request_ends_after_the_current_batch_and_keeps_best(fast_config, tmp_path):
    fast_config.epochs = 5
    trainer, events = _run(fast_config, tmp_path / "run")

    def stop_in_second_epoch(event):
        if event.kind == "batch_end" and event.data["epoch"] == 2 and event.data["iteration"] == 2:
            trainer.request_stop()

    trainer.subscribe(stop_in_second_epoch)
    summary = trainer.run()
    batches = [e.data for e in events if e.kind == "batch_end" and e.data["epoch"] == 2]
    assert [b["iteration"] for b in batches] == [1, 2]  # nothing ran after the stop
    assert summary["status"] == "stopped" and "stopped by user during epoch 2" in summary["stop_reason"]
    assert summary["stopped_epoch"] == 1
    best = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    assert best["epoch"] == 1


def test_nan_loss_stops_with_a_clear_reason_and_keeps_best(fast_config, tmp_path):
    fast_config.epochs = 4
    trainer, events = _run(fast_config, tmp_path / "run")

    def poison_after_first_epoch(event):
        if event.kind == "epoch_end" and event.data["epoch"] == 1:
            criterion = trainer.criterion
            trainer.criterion = lambda logits, labels: criterion(logits, labels) * float("nan")

    trainer.subscribe(poison_after_first_epoch)
    summary = trainer.run()
    assert summary["status"] == "failed"
    assert "loss became nan at epoch 2, iteration 1" in summary["stop_reason"]
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["epoch"] == 1


def test_early_stopping_ends_the_run_and_says_why(fast_config, tmp_path):
    fast_config.epochs = 20
    fast_config.patience = 0
    fast_config.min_delta = 100.0  # nothing can improve by that much: stop at the 2nd epoch
    trainer, events = _run(fast_config, tmp_path / "run")
    summary = trainer.run()
    assert summary["stopped_epoch"] == 2 and summary["best_epoch"] == 1
    assert summary["stop_reason"] == "stopped early: val_loss did not improve for 1 epoch"
    early = [e.data for e in events if e.kind == "early_stop"]
    assert early == [{"epoch": 2, "reason": "val_loss did not improve for 1 epoch"}]
    assert Trainer.one_line_summary(summary).startswith(
        "best epoch 1 of 2, stopped early: val_loss did not improve for 1 epoch")


def test_resume_continues_exactly_where_an_interrupted_run_stopped(fast_config, tmp_path):
    fast_config.epochs = 4
    Trainer(fast_config, out=tmp_path / "straight").run()

    first, _ = _run(fast_config, tmp_path / "broken")
    first.subscribe(lambda e: e.kind == "epoch_end" and e.data["epoch"] == 2 and first.request_stop())
    assert first.run()["status"] == "stopped"
    resumed, events = _run(fast_config, None, resume=tmp_path / "broken")
    summary = resumed.run()
    assert next(e.data for e in events if e.kind == "run_start")["start_epoch"] == 3
    assert [e.data["epoch"] for e in events if e.kind == "epoch_end"] == [3, 4]
    assert summary["stopped_epoch"] == 4

    def losses(run):
        with open(tmp_path / run / "metrics.csv") as fh:
            rows = csv.DictReader(fh)
            return [[int(r["epoch"]), float(r["train_loss"]), float(r["val_loss"])] for r in rows]

    # Model, optimizer, schedule and random streams all come back: the same numbers as no break.
    broken, straight = losses("broken"), losses("straight")
    assert [r[0] for r in broken] == [1, 2, 3, 4]
    assert sum(broken, []) == pytest.approx(sum(straight, []), rel=1e-4)


def test_resume_without_last_checkpoint_starts_from_the_first_epoch(fast_config, tmp_path):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    fast_config.save_json(tmp_path / "run" / "config.json")
    summary = Trainer(fast_config, resume=tmp_path / "run").run()
    assert summary["stopped_epoch"] == 2


def test_batch_larger_than_training_set_is_refused(fast_config, tmp_path):
    fast_config.batch_size = 1000
    with pytest.raises(TrainingError, match="larger than the 52 training images"):
        Trainer(fast_config, out=tmp_path / "run").run()
    # Known before training starts: refused before a run folder exists (hostile-input issue).
    assert not (tmp_path / "run").exists()


def test_out_folder_that_already_holds_files_is_refused(fast_config, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "something").write_text("x")
    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(fast_config, out=tmp_path / "run")


def test_freeze_backbone_then_fine_tune(fast_config, tmp_path):
    fast_config.freeze_backbone_epochs = 1
    trainer, _ = _run(fast_config, tmp_path / "run")
    seen = []
    trainer.subscribe(lambda e: e.kind == "batch_end" and e.data["iteration"] == 1 and seen.append(
        trainer.model.features[0][0].weight.requires_grad))
    trainer.run()
    assert seen == [False, True]


def test_resuming_an_early_stopped_run_trains_the_extra_epochs(fast_config, tmp_path):
    fast_config.epochs, fast_config.patience, fast_config.min_delta = 4, 0, 100.0
    assert Trainer(fast_config, out=tmp_path / "run").run()["stopped_epoch"] == 2
    fast_config.patience, fast_config.min_delta = 5, 0.0  # e.g. `--resume RUN --patience 5`
    summary = Trainer(fast_config, resume=tmp_path / "run").run()
    assert summary["stopped_epoch"] == 4 and summary["stop_reason"] == "completed all 4 epochs"
