"""Weight averaging (EMA): validated, checkpointed, resumed and exported in place of the raw weights."""

from __future__ import annotations

import pytest
import torch

from workbench.engine.callbacks import WeightAveraging
from workbench.engine.callbacks.averaging import warmed_decay
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.trainer import Trainer
from workbench.export import export_model


@pytest.fixture
def ema_config(fast_config):
    fast_config.ema, fast_config.ema_decay = True, 0.9
    fast_config.early_stopping, fast_config.restore_best_weights = False, False
    return fast_config


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_decay_warms_up_then_holds():
    assert warmed_decay(0.999, 0) == pytest.approx(0.1)
    assert warmed_decay(0.999, 90) == pytest.approx(91 / 100)
    assert warmed_decay(0.9, 1000) == 0.9


def test_the_average_is_what_is_validated_and_checkpointed(ema_config, tmp_path):
    trainer = Trainer(ema_config, out=tmp_path / "run")
    trainer.run()
    ema = trainer.callbacks.find(WeightAveraging)
    assert trainer.eval_model is ema.averaged.module and trainer.eval_model is not trainer.model
    assert ema.updates == 2 * trainer.iterations

    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    averaged = {k: v.cpu() for k, v in ema.averaged.module.state_dict().items()}
    assert _same(last["model"], averaged)
    assert _same(last["ema"]["training_model"], {k: v.cpu() for k, v in trainer.model.state_dict().items()})
    assert not _same(last["model"], last["ema"]["training_model"])
    # Batch-norm statistics are averaged too (use_buffers=True), not copied from the raw model.
    name = next(k for k in averaged if k.endswith("running_mean"))
    assert not torch.equal(averaged[name], last["ema"]["training_model"][name])

    # The last epoch's validation loss is the average's, not the raw weights'.
    assert trainer.evaluate()["loss"] == pytest.approx(trainer.history[-1]["val_loss"], rel=1e-5)
    trainer.eval_model = trainer.model
    assert trainer.evaluate()["loss"] != pytest.approx(trainer.history[-1]["val_loss"], rel=1e-3)


def test_without_weight_averaging_the_trained_model_is_the_delivered_one(fast_config, tmp_path):
    fast_config.epochs = 1
    trainer = Trainer(fast_config, out=tmp_path / "run")
    trainer.run()
    assert trainer.eval_model is trainer.model and trainer.callbacks.find(WeightAveraging) is None
    assert "ema" not in load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")


def test_a_resumed_run_continues_the_average_exactly(ema_config, tmp_path):
    ema_config.epochs = 3
    Trainer(ema_config, out=tmp_path / "straight").run()

    first = Trainer(ema_config, out=tmp_path / "broken")
    first.subscribe(lambda e: e.kind == "epoch_end" and e.data["epoch"] == 2 and first.request_stop())
    assert first.run()["status"] == "stopped"
    stopped = load_checkpoint(tmp_path / "broken" / "checkpoints" / "last.pt")
    resumed = Trainer(ema_config, resume=tmp_path / "broken")
    checked = []
    resumed.subscribe(lambda e: e.kind == "run_start" and checked.append(_check_restored(resumed, stopped)))
    resumed.run()
    assert checked, "the resumed run's state was not checked"

    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "last.pt")
    broken = load_checkpoint(tmp_path / "broken" / "checkpoints" / "last.pt")
    assert broken["ema"]["updates"] == straight["ema"]["updates"] == 3 * resumed.iterations
    for part in (broken["model"], broken["ema"]["training_model"]):
        other = straight["model"] if part is broken["model"] else straight["ema"]["training_model"]
        for key in part:
            torch.testing.assert_close(part[key], other[key], rtol=1e-4, atol=1e-5)


def _check_restored(trainer, checkpoint) -> None:
    """At the resumed run's start: the average and the trained weights are the checkpoint's."""
    ema = trainer.callbacks.find(WeightAveraging)
    assert _same({k: v.cpu() for k, v in ema.averaged.module.state_dict().items()}, checkpoint["model"])
    assert _same({k: v.cpu() for k, v in trainer.model.state_dict().items()},
                 checkpoint["ema"]["training_model"])
    assert ema.updates == checkpoint["ema"]["updates"] and int(ema.averaged.n_averaged) == ema.updates


def test_the_export_ships_the_averaged_weights(ema_config, tmp_path):
    ema_config.epochs = 1
    Trainer(ema_config, out=tmp_path / "run").run()
    best = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    result = export_model(tmp_path / "run", "pt", out=tmp_path / "model.pt")
    shipped = torch.load(result.path, weights_only=True)
    assert _same(shipped, best["model"])
    assert not _same(shipped, best["ema"]["training_model"])
