"""RUN/tensorboard/: what a run writes, read back with TensorBoard's own EventAccumulator."""

from __future__ import annotations

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from workbench.cli import build_parser, config_from_args
from workbench.config import TrainConfig
from workbench.engine.callbacks.tensorboard import confusion_image, final_metrics, settings_as_hparams
from workbench.engine.trainer import Trainer
from workbench.runs import RunFolder, read_json_object


def _events(run_dir) -> EventAccumulator:
    events = EventAccumulator(str(run_dir / "tensorboard"),
                              size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    return events


def _config(fast_config, **changes) -> TrainConfig:
    return TrainConfig.from_dict({**fast_config.to_dict(), "early_stopping": False, **changes})


def test_a_run_writes_scalars_images_and_hparams(trained_run):
    summary = read_json_object(trained_run / "summary.json")[0]
    history = RunFolder(trained_run).read_metrics()
    events = _events(trained_run)
    tags = events.Tags()
    epochs = events.Scalars("epoch/val_loss")
    iterations = epochs[0].step  # an epoch's scalars sit at its last global iteration
    assert [e.step for e in epochs] == [iterations * row["epoch"] for row in history]
    assert [e.value for e in epochs] == pytest.approx([row["val_loss"] for row in history], rel=1e-5)
    assert [e.step for e in events.Scalars("iteration/loss")] == list(range(1, iterations * len(history) + 1))
    for tag in ("epoch/train_loss", "epoch/train_acc", "epoch/val_acc", "iteration/lr", "lr/group 0"):
        assert tag in tags["scalars"], tag
    assert {"augmented training batch", "validation confusion matrix"} <= set(tags["images"])
    batch = events.Images("augmented training batch")
    assert batch and batch[0].width > 0
    hparams = events.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(hparams)
    assert b"batch_size" in hparams["_hparams_/session_start_info"]
    assert events.Scalars("hparam/temperature")[-1].value == pytest.approx(
        summary["calibration"]["temperature"], rel=1e-6)


def test_resume_continues_the_curves_and_hides_what_came_after_the_checkpoint(fast_config, tmp_path):
    from torch.utils.tensorboard import SummaryWriter as EventWriter

    run = tmp_path / "run"
    Trainer(_config(fast_config, epochs=1), out=run).run()
    iterations = _events(run).Scalars("epoch/epoch")[0].step
    # What an interrupted run logged after its last checkpoint: an epoch 2 that never was saved.
    ghost = EventWriter(str(run / "tensorboard"))
    ghost.add_scalar("epoch/epoch", 99.0, 2 * iterations)
    ghost.close()
    config = _config(fast_config, epochs=2)
    config.save_json(run / "config.json")
    Trainer(config, resume=run).run()
    epochs = _events(run).Scalars("epoch/epoch")
    assert [(e.step, e.value) for e in epochs] == [(iterations, 1.0), (2 * iterations, 2.0)]
    steps = [e.step for e in _events(run).Scalars("iteration/loss")]
    assert steps == list(range(1, 2 * iterations + 1))  # one curve, no step twice


def test_tensorboard_off_writes_no_folder(fast_config, tmp_path):
    Trainer(_config(fast_config, epochs=1, tensorboard=False), out=tmp_path / "run").run()
    assert not (tmp_path / "run" / "tensorboard").exists()
    assert config_from_args(build_parser().parse_args(["train", "--no-tensorboard"])).tensorboard is False
    assert config_from_args(build_parser().parse_args(["train"])).tensorboard is True


def test_a_failing_writer_never_ends_the_run(fast_config, tmp_path):
    trainer = Trainer(_config(fast_config, epochs=2), out=tmp_path / "run")
    (tmp_path / "run" / "tensorboard").write_text("a file where the folder should go")
    logs = []
    trainer.subscribe(lambda e: logs.append(getattr(e, "message", "")))
    summary = trainer.run()
    assert summary["status"] == "finished" and summary["stopped_epoch"] == 2
    warnings = [m for m in logs if m.startswith("Warning: TensorBoard logging stopped")]
    assert len(warnings) == 1  # said once, then no more attempts


def test_only_rank_zero_writes(fast_config, tmp_path, monkeypatch):
    from workbench.engine.distributed import Distributed

    trainer = Trainer(_config(fast_config, epochs=1), out=tmp_path / "run")
    monkeypatch.setattr(Distributed, "is_main", property(lambda self: False))
    callback = next(cb for cb in trainer.callbacks if type(cb).__name__ == "TensorBoardLogger")
    callback.on_run_start(trainer)
    assert callback.writer is None and not (tmp_path / "run" / "tensorboard").exists()


def test_helpers():
    assert settings_as_hparams({"a": None, "augment": {"zoom_range": 0.1}, "b": True}) == {
        "a": "none", "augment.zoom_range": 0.1, "b": True}
    assert final_metrics({"best_metrics": {"val_loss": 0.5, "val_acc": float("nan")},
                          "calibration": {"temperature": 1.5}}) == {
        "hparam/best_val_loss": 0.5, "hparam/temperature": 1.5}
    image = confusion_image([[3, 1], [0, 4]], ["cat", "dog"])
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype.name == "uint8"
