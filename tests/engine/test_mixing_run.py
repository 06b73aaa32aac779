"""A run with MixUp / CutMix and a policy: soft targets in training, plain images in validation."""

from __future__ import annotations

import pytest

from workbench.engine.callbacks import Callback
from workbench.engine.trainer import Trainer


class TargetSpy(Callback):
    """Wraps the run's criteria to record what kind of targets each one is given."""

    def __init__(self):
        self.train, self.eval = [], []

    def on_setup(self, run):
        def spy(criterion, seen):
            def call(logits, targets):
                seen.append((tuple(targets.shape), targets.dtype.is_floating_point))
                return criterion(logits, targets)
            return call
        run.criterion, run.eval_criterion = spy(run.criterion, self.train), spy(run.eval_criterion, self.eval)


def test_training_sees_soft_targets_and_validation_plain_labels(fast_config, tmp_path):
    fast_config.epochs = 1
    fast_config.label_smoothing = 0.1  # composes with soft targets
    augment = fast_config.augment
    augment.policy, augment.random_erasing = "randaugment", 0.5
    augment.mixup_alpha, augment.cutmix_alpha = 0.4, 1.0
    spy = TargetSpy()
    trainer = Trainer(fast_config, out=tmp_path / "run", callbacks=[spy])
    summary = trainer.run()
    assert summary["status"] == "finished"
    assert len(spy.train) == trainer.iterations
    assert all(len(shape) == 2 and shape[1] == 4 and soft for shape, soft in spy.train)
    assert spy.eval and all(len(shape) == 1 and not soft for shape, soft in spy.eval)
    row = trainer.history[0]
    assert 0 <= row["train_acc"] <= 1 and row["train_loss"] > 0
    # Validation scores the images as they are: the same loss again, with nothing random (one
    # epoch: the restored best weights are that epoch's).
    assert trainer.evaluate()["loss"] == pytest.approx(row["val_loss"], rel=1e-5)
