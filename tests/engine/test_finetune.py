"""Fine-tuning: gradual unfreezing (``unfreeze_every``) and layer-wise learning rates (``layer_lr_decay``)."""

import csv
from types import SimpleNamespace

import pytest

from workbench.config import ConfigError, TrainConfig
from workbench.engine import events as ev
from workbench.engine.callbacks import BackboneFreezing
from workbench.engine.schedules import Schedule
from workbench.engine.trainer import Trainer, _make_optimizer
from workbench.models import build_model, layer_group_names, layer_groups

# Settings --------------------------------------------------------------------------------------


def test_settings_are_validated_and_grouped_under_fine_tuning():
    from workbench.config import all_settings

    settings = all_settings()
    for name in ("freeze_backbone_epochs", "unfreeze_every", "layer_lr_decay"):
        assert settings[name].group == "Fine-tuning"
    TrainConfig(unfreeze_every=100_000, layer_lr_decay=1.0).validate()
    TrainConfig(layer_lr_decay=0.01).validate()
    for bad in ({"unfreeze_every": -1}, {"unfreeze_every": 100_001}, {"layer_lr_decay": 0.0},
                {"layer_lr_decay": 1.5}, {"layer_lr_decay": -0.5}):
        with pytest.raises(ConfigError):
            TrainConfig(**bad).validate()


def test_cli_flags_exist():
    from workbench.cli import build_parser

    parser = build_parser()._subparsers._group_actions[0].choices["train"]
    args = parser.parse_args(["--unfreeze-every", "2", "--layer-lr-decay", "0.7",
                              "--freeze-backbone-epochs", "1"])
    assert (args.unfreeze_every, args.layer_lr_decay, args.freeze_backbone_epochs) == (2, 0.7, 1)


# Gradual unfreezing ----------------------------------------------------------------------------


def _trainable_by_epoch(name, epochs, freeze, every, start=1, model=None):
    """{epoch: names of the layer groups with every parameter trainable}, and the log lines."""
    model = model or build_model(name, 3, image_size=32, log=lambda m: None)
    lines = []
    run = SimpleNamespace(model=model, config=TrainConfig(model=name, epochs=epochs, image_size=32),
                          log=lines.append)
    callback = BackboneFreezing(freeze, every)
    out = {}
    for epoch in range(start, epochs + 1):
        callback.on_epoch_start(run, epoch)
        out[epoch] = [g for g, params in layer_groups(model, name) if all(p.requires_grad for p in params)]
        partly = [g for g, params in layer_groups(model, name)
                  if any(p.requires_grad for p in params) and g not in out[epoch]]
        assert not partly  # a group trains whole or not at all
    return out, lines


def test_resnet18_releases_one_group_from_the_top_every_k_epochs():
    seen, lines = _trainable_by_epoch("resnet18", epochs=12, freeze=2, every=2)
    assert seen[1] == seen[2] == ["head"]
    assert seen[3] == seen[4] == ["layer4", "head"]
    assert seen[5] == seen[6] == ["layer3", "layer4", "head"]
    assert seen[7] == seen[8] == ["layer2", "layer3", "layer4", "head"]
    assert seen[9] == seen[10] == ["layer1", "layer2", "layer3", "layer4", "head"]
    assert seen[11] == seen[12] == layer_group_names("resnet18")
    assert lines == ["Epoch 3: unfroze layer4 (gradual unfreezing).",
                     "Epoch 5: unfroze layer3 (gradual unfreezing).",
                     "Epoch 7: unfroze layer2 (gradual unfreezing).",
                     "Epoch 9: unfroze layer1 (gradual unfreezing).",
                     "Epoch 11: unfroze stem (gradual unfreezing); all layers now train."]


def test_frozen_groups_keep_their_batchnorm_statistics():
    model = build_model("resnet18", 3, image_size=32, log=lambda m: None)
    _trainable_by_epoch("resnet18", epochs=3, freeze=2, every=2, model=model)  # ends at epoch 3
    assert model.layer4[0].bn1.training and not model.layer3[0].bn1.training and not model.bn1.training


def test_small_cnn_unfreezes_every_epoch_after_one_frozen_epoch():
    seen, lines = _trainable_by_epoch("small_cnn", epochs=6, freeze=1, every=1)
    assert [len(seen[e]) for e in range(1, 7)] == [1, 2, 3, 4, 5, 5]
    assert seen[2] == ["block4", "head"] and seen[5] == layer_group_names("small_cnn")
    assert lines[0] == "Epoch 2: unfroze block4 (gradual unfreezing)."
    assert len(lines) == 4


def test_without_frozen_epochs_the_first_group_is_released_at_epoch_one_and_a_note_says_so():
    seen, lines = _trainable_by_epoch("small_cnn", epochs=2, freeze=0, every=3)
    assert seen[1] == seen[2] == ["block4", "head"]
    assert lines == ["Epoch 1: unfroze block4 (gradual unfreezing)."]
    assert any("epoch 1" in note for note in TrainConfig(unfreeze_every=3).notes())


def test_unfreeze_every_zero_keeps_the_old_all_at_once_switch():
    seen, lines = _trainable_by_epoch("resnet18", epochs=3, freeze=1, every=0)
    assert seen[1] == ["head"] and seen[2] == seen[3] == layer_group_names("resnet18")
    assert lines == ["Epoch 2: backbone unfrozen, fine-tuning all layers."]
    seen, lines = _trainable_by_epoch("resnet18", epochs=2, freeze=0, every=0)
    assert seen[1] == layer_group_names("resnet18") and lines == []


def test_a_resumed_run_continues_the_plan_on_a_fresh_model():
    # Which groups train is a function of the epoch alone: starting at epoch 6 on a new model
    # (as a resume does) gives what the uninterrupted run had, and logs no release twice.
    whole, whole_lines = _trainable_by_epoch("resnet18", epochs=10, freeze=2, every=2)
    resumed, lines = _trainable_by_epoch("resnet18", epochs=10, freeze=2, every=2, start=6)
    assert resumed == {e: whole[e] for e in range(6, 11)}
    assert lines == whole_lines[2:]


# Layer-wise learning rates ---------------------------------------------------------------------


def _optimizer(name="resnet18", decay=0.5, lr=0.1, **changes):
    config = TrainConfig(model=name, lr=lr, layer_lr_decay=decay, image_size=32, **changes)
    return _make_optimizer(build_model(name, 3, image_size=32, log=lambda m: None), config), config


def test_each_earlier_group_gets_decay_times_the_next_ones_rate():
    optimizer, _ = _optimizer("resnet18", decay=0.5, lr=0.1)
    assert [g["name"] for g in optimizer.param_groups] == layer_group_names("resnet18")
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx(
        [0.1 * 0.5 ** k for k in (5, 4, 3, 2, 1, 0)], rel=1e-12)


def test_no_decay_keeps_the_single_parameter_group():
    optimizer, _ = _optimizer("resnet18", decay=1.0)
    assert len(optimizer.param_groups) == 1 and optimizer.param_groups[0]["lr"] == 0.1


def _ratios(optimizer):
    head = optimizer.param_groups[-1]["lr"]
    return [g["lr"] / head for g in optimizer.param_groups]


@pytest.mark.parametrize(("schedule", "extra"), [
    ("one_cycle", {}), ("cosine", {}), ("step", {"step_size": 1, "gamma": 0.5}),
    ("exponential", {"gamma": 0.7}), ("reduce_on_plateau", {"plateau_patience": 0}), ("none", {})])
def test_every_schedule_keeps_the_ratios_and_reports_the_heads_rate(schedule, extra):
    optimizer, config = _optimizer("small_cnn", decay=0.8, lr=0.1, schedule=schedule, epochs=4, **extra)
    expected = [0.8 ** k for k in (4, 3, 2, 1, 0)]
    sched = Schedule(optimizer, config, steps_per_epoch=5)
    heads = []
    for _epoch in range(4):
        for _ in range(5):
            assert _ratios(optimizer) == pytest.approx(expected, rel=1e-9)
            assert sched.lr == optimizer.param_groups[-1]["lr"]
            heads.append(sched.lr)
            optimizer.step()
            sched.after_batch()
        sched.after_epoch({"val_loss": 1.0}, "val_loss")  # never improves: the plateau cuts
    if schedule != "cosine":  # cosine ends at 0 for every group
        assert _ratios(optimizer) == pytest.approx(expected, rel=1e-9)
    if schedule == "one_cycle":  # each group peaks at its own rate, the head at lr
        assert max(heads) == pytest.approx(0.1, rel=1e-3)
        assert [g["max_lr"] for g in optimizer.param_groups] == pytest.approx([0.1 * r for r in expected])
    elif schedule != "none":
        assert heads[-1] < 0.1


@pytest.mark.parametrize("schedule", ["one_cycle", "cosine", "step"])
def test_a_schedule_with_groups_resumes_and_extends_with_the_same_ratios(schedule):
    first_opt, config = _optimizer("small_cnn", decay=0.5, schedule=schedule, epochs=3)
    first = Schedule(first_opt, config, 4)
    for _ in range(2):
        for _ in range(4):
            first_opt.step()
            first.after_batch()
        first.after_epoch({"val_loss": 1.0}, "val_loss")
    # The same run resumed, and the run extended to 6 epochs.
    for epochs in (3, 6):
        opt, cfg = _optimizer("small_cnn", decay=0.5, schedule=schedule, epochs=epochs)
        second = Schedule(opt, cfg, 4)
        opt.load_state_dict(first_opt.state_dict())
        second.load_state_dict(first.state_dict())
        assert _ratios(opt) == pytest.approx([0.5 ** k for k in (4, 3, 2, 1, 0)], rel=1e-9)
        if epochs == 3:
            assert [g["lr"] for g in opt.param_groups] == pytest.approx(
                [g["lr"] for g in first_opt.param_groups], rel=1e-12)
        for _ in range(4):
            opt.step()
            second.after_batch()
        assert _ratios(opt) == pytest.approx([0.5 ** k for k in (4, 3, 2, 1, 0)], rel=1e-9)


# A real run ------------------------------------------------------------------------------------


def _grad_flags(trainer):
    return [all(p.requires_grad for p in params) for _, params in layer_groups(trainer.model, "small_cnn")]


def _watch(trainer, seen):
    """Record, at each epoch's first batch, which layer groups train and the first group's rate."""
    def on_event(event):
        if isinstance(event, ev.BatchEnd) and event.iteration == 1:
            seen[event.epoch] = _grad_flags(trainer)
    trainer.subscribe(on_event)


def test_a_real_run_unfreezes_gradually_with_layer_rates_and_resumes_the_plan(fast_config, tmp_path):
    fast_config.epochs, fast_config.freeze_backbone_epochs = 4, 1
    fast_config.unfreeze_every, fast_config.layer_lr_decay = 1, 0.5
    fast_config.schedule, fast_config.early_stopping = "cosine", False
    first = Trainer(fast_config, out=tmp_path / "run")
    seen, epochs = {}, []
    _watch(first, seen)
    first.subscribe(lambda e: isinstance(e, ev.EpochEnd) and epochs.append(e))
    first.subscribe(lambda e: isinstance(e, ev.EpochEnd) and e.epoch == 2 and first.request_stop())
    assert first.run()["status"] == "stopped"
    assert seen == {1: [False] * 4 + [True], 2: [False] * 3 + [True] * 2}
    # The head's rate is the one logged; the stem's sits beside it, 0.5⁴ of it.
    for e in epochs:
        assert e.lr_first_group == pytest.approx(e.lr * 0.5 ** 4, rel=1e-9)
    assert first.history[0]["lr"] == pytest.approx(fast_config.lr)
    with open(tmp_path / "run" / "metrics.csv", newline="") as fh:
        assert next(csv.reader(fh)) == list(ev.METRIC_COLUMNS)  # columns unchanged

    resumed = Trainer(fast_config, resume=tmp_path / "run")
    logs = []
    _watch(resumed, seen)
    resumed.subscribe(lambda e: isinstance(e, ev.Log) and logs.append(e.message))
    summary = resumed.run()
    assert summary["stop_reason"] == "completed all 4 epochs"
    assert seen[3] == [False, False, True, True, True] and seen[4] == [False, True, True, True, True]
    assert "Epoch 3: unfroze block3 (gradual unfreezing)." in logs
    assert "Epoch 4: unfroze block2 (gradual unfreezing)." in logs
    assert not any("block4" in line and "unfroze" in line for line in logs)  # released before the stop
    assert [g["name"] for g in resumed.optimizer.param_groups] == layer_group_names("small_cnn")
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3, 4]
    assert all(row["lr_first_group"] == pytest.approx(row["lr"] / 16, rel=1e-9) for row in resumed.history)
    # … and it is the run that was never interrupted.
    whole = Trainer(fast_config, out=tmp_path / "whole")
    whole.run()
    for key in ("val_loss", "lr", "lr_first_group"):
        assert [row[key] for row in whole.history] == [row[key] for row in resumed.history]


def test_a_run_without_layer_rates_has_no_extra_metric(fast_config, tmp_path):
    fast_config.epochs = 1
    trainer = Trainer(fast_config, out=tmp_path / "run")
    trainer.run()
    assert "lr_first_group" not in trainer.history[0]
    assert len(trainer.optimizer.param_groups) == 1
