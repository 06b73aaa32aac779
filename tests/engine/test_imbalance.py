"""Class weights and the balanced sampler in a real run; validation loss stays plain."""

from __future__ import annotations

import shutil

import pytest
import torch

from workbench.config import TrainConfig
from workbench.engine.callbacks import Callback
from workbench.engine.trainer import Trainer


@pytest.fixture
def imbalanced(tiny_data, tmp_path):
    """16 circles, 4 squares (tiny_data's images, 32 px)."""
    root = tmp_path / "imbalanced"
    for name, count in (("circle", 16), ("square", 4)):
        (root / name).mkdir(parents=True)
        for path in sorted((tiny_data / name).iterdir())[:count]:
            shutil.copy(path, root / name / path.name)
    return root


class DrawnLabels(Callback):
    """Records the labels of every training batch the loop draws."""

    def __init__(self):
        self.labels: list[int] = []

    def on_setup(self, run):
        source, batches = run.data.train, run.data.train.batches

        def recording(order, batch_size):
            for images, labels in batches(order, batch_size):
                self.labels.extend(labels.tolist())
                yield images, labels
        source.batches = recording


def test_balanced_class_weights_weight_the_training_loss_but_not_validation(imbalanced, tmp_path):
    config = TrainConfig(data_dir=str(imbalanced), image_size=32, epochs=1, batch_size=4, workers=0,
                         val_fraction=0.25, class_weights="balanced", early_stopping=False)
    trainer = Trainer(config, out=tmp_path / "run")
    trainer.run()
    # 12 circles and 3 squares train: 15 / (2 × 12) and 15 / (2 × 3).
    assert trainer.criterion.weight.tolist() == pytest.approx([15 / 24, 15 / 6])
    assert trainer.eval_criterion.weight is None
    logits, labels = torch.tensor([[2.0, 0.0], [0.5, 1.0], [0.0, 3.0]]), torch.tensor([0, 0, 1])
    each = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    weights = torch.tensor([15 / 24, 15 / 24, 15 / 6])
    weighted_mean = (each * weights).sum() / weights.sum()
    assert trainer.criterion(logits, labels).item() == pytest.approx(weighted_mean.item())
    assert any("Class weights (balanced): circle 0.625, square 2.5." in line
               for line in (tmp_path / "run" / "train.log").read_text().splitlines())


def test_the_balanced_sampler_draws_the_classes_about_equally_for_the_same_epoch_length(imbalanced, tmp_path):
    drawn = DrawnLabels()
    config = TrainConfig(data_dir=str(imbalanced), image_size=32, epochs=4, batch_size=5, workers=0,
                         val_fraction=0.25, balanced_sampler=True, early_stopping=False,
                         tensorboard=False)  # its sample batch would be counted as drawn
    trainer = Trainer(config, out=tmp_path / "run", callbacks=[drawn])
    trainer.run()
    assert len(drawn.labels) == 4 * 15 and [row["train_images"] for row in trainer.history] == [15] * 4
    squares = sum(drawn.labels) / len(drawn.labels)  # 3 of 15 training images, a fifth, without it
    assert 0.35 <= squares <= 0.65
