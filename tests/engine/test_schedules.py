"""Every schedule, stepped the way the loop steps it."""

import pytest
import torch

from workbench.config import SCHEDULES, TrainConfig
from workbench.engine.schedules import Schedule


def _drive(schedule_name, epochs=6, steps=4, val_losses=None, **changes):
    config = TrainConfig(schedule=schedule_name, epochs=epochs, lr=0.1, **changes)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    schedule = Schedule(optimizer, config, steps)
    lrs = []
    for epoch in range(epochs):
        lrs.append(schedule.lr)
        for _ in range(steps):
            optimizer.step()
            schedule.after_batch()
        loss = val_losses[epoch] if val_losses else 1.0
        schedule.after_epoch({"val_loss": loss, "val_accuracy": 0.5}, config.monitor)
    return lrs, schedule


def test_none_keeps_the_rate():
    assert _drive("none")[0] == [0.1] * 6


def test_step_decays_every_step_size_epochs():
    lrs, _ = _drive("step", step_size=2, gamma=0.5)
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_exponential_decays_every_epoch():
    lrs, _ = _drive("exponential", gamma=0.5, epochs=4)
    assert lrs == pytest.approx([0.1, 0.05, 0.025, 0.0125])


def test_cosine_anneals_towards_zero_over_the_run():
    lrs, schedule = _drive("cosine", epochs=4)
    assert lrs == pytest.approx([0.1, 0.1 * (1 + 0.7071068) / 2, 0.05, 0.1 * (1 - 0.7071068) / 2])
    assert schedule.lr == pytest.approx(0.0, abs=1e-12)


def test_one_cycle_steps_per_batch_and_peaks_at_the_learning_rate():
    config = TrainConfig(schedule="one_cycle", epochs=3, lr=0.1)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    schedule = Schedule(optimizer, config, steps_per_epoch=10)
    seen = []
    for _ in range(30):
        seen.append(schedule.lr)
        optimizer.step()
        schedule.after_batch()
    assert seen[0] == pytest.approx(0.1 / 25)  # OneCycleLR's default div_factor
    assert max(seen) == pytest.approx(0.1, rel=1e-3)
    assert seen[-1] < 1e-4
    schedule.after_batch()  # stepping past the planned total (a resumed, longer run) must not raise


def test_reduce_on_plateau_cuts_the_rate_after_patience_epochs_without_improvement():
    lrs, _ = _drive("reduce_on_plateau", epochs=6, val_losses=[1.0, 0.9, 0.9, 0.9, 0.9, 0.9],
                    plateau_patience=1, plateau_factor=0.5)
    # ReduceLROnPlateau: the 2nd bad epoch after the best (epoch 2) exceeds patience 1.
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05])


@pytest.mark.parametrize("name", SCHEDULES)
def test_state_round_trip_gives_the_same_future(name):
    _, first = _drive(name, epochs=3)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    optimizer.load_state_dict(first.optimizer.state_dict())
    second = Schedule(optimizer, TrainConfig(schedule=name, epochs=3, lr=0.1), 4)
    second.load_state_dict(first.state_dict())
    assert second.lr == pytest.approx(first.lr)
    for s in (first, second):
        s.after_batch()
        s.after_epoch({"val_loss": 2.0}, "val_loss")
    assert second.lr == pytest.approx(first.lr)
