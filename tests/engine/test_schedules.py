"""Every schedule, stepped the way the loop steps it."""

import pytest
import torch

from workbench.config import SCHEDULES, TrainConfig
from workbench.engine.schedules import Schedule


def _drive(schedule_name, epochs=6, steps=4, val_losses=None, **changes):
    config = TrainConfig(schedule=schedule_name, epochs=epochs, lr=0.1, **changes)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    schedule = Schedule(optimizer, config, steps)
    return _epoch_lrs(schedule, optimizer, epochs, steps, val_losses), schedule


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


# Extending a run: resume with more epochs than the schedule was built for ------------------------
def _epoch_lrs(schedule, optimizer, epochs, steps, losses=None):
    lrs = []
    for epoch in range(epochs):
        lrs.append(schedule.lr)
        for _ in range(steps):
            optimizer.step()
            schedule.after_batch()
        loss = losses[epoch] if losses else 1.0
        schedule.after_epoch({"val_loss": loss, "val_accuracy": 0.5}, "val_loss")
    return lrs


def _extended(name, first=4, total=10, steps=3, losses=None, resume_epochs=None, **changes):
    """Learning rates per epoch of a run of ``first`` epochs resumed to ``total``, and of the same
    run resumed again (as after a kill) halfway through the extension."""
    param = torch.nn.Parameter(torch.zeros(1))
    config = TrainConfig(schedule=name, epochs=first, lr=0.001, **changes)
    optimizer = torch.optim.SGD([param], lr=config.lr)
    schedule = Schedule(optimizer, config, steps)
    before = _epoch_lrs(schedule, optimizer, first, steps, losses)
    state, opt_state = schedule.state_dict(), optimizer.state_dict()

    def resumed(state, opt_state, done):
        config.epochs = total
        optimizer = torch.optim.SGD([param], lr=config.lr)
        optimizer.load_state_dict(opt_state)
        schedule = Schedule(optimizer, config, steps)
        schedule.load_state_dict(state)
        return schedule, optimizer

    schedule, optimizer = resumed(state, opt_state, first)
    after = _epoch_lrs(schedule, optimizer, total - first, steps)
    return before, after


def test_an_extended_cosine_run_anneals_from_its_last_rate_to_the_new_end():
    before, after = _extended("cosine")
    assert before == pytest.approx([0.001, 0.000854, 0.0005, 0.000146], abs=1e-6)
    assert all(a > b > 0 for a, b in zip([before[-1], *after], after, strict=False))  # down, never 0
    assert after[-1] < 0.0001


def test_an_extended_one_cycle_run_anneals_from_its_last_rate_to_the_new_end():
    before, after = _extended("one_cycle", first=2, total=6)
    assert all(a >= b for a, b in zip([before[-1], *after], after, strict=False))
    assert after[0] < before[-1] and after[-1] < 1e-5


def test_step_and_exponential_keep_their_rule_when_extended():
    before, after = _extended("step", first=4, total=8, step_size=2, gamma=0.5)
    assert before + after == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 1.25e-4, 1.25e-4])
    before, after = _extended("exponential", first=2, total=4, gamma=0.5)
    assert before + after == pytest.approx([1e-3, 5e-4, 2.5e-4, 1.25e-4])


def test_plateau_keeps_counting_when_extended():
    # patience 1: the second epoch without improvement (the 3rd, after the resume) halves the rate
    before, after = _extended("reduce_on_plateau", first=2, total=5, plateau_patience=1, losses=[1.0, 1.0])
    assert before + after == pytest.approx([1e-3, 1e-3, 1e-3, 5e-4, 5e-4])


def test_resuming_an_extended_run_again_continues_the_extension_exactly():
    param = torch.nn.Parameter(torch.zeros(1))
    config = TrainConfig(schedule="cosine", epochs=4, lr=0.001)
    optimizer = torch.optim.SGD([param], lr=config.lr)
    schedule = Schedule(optimizer, config, 2)
    _epoch_lrs(schedule, optimizer, 4, 2)
    config.epochs = 10
    saved = schedule.state_dict(), optimizer.state_dict()

    def resume(saved):
        opt = torch.optim.SGD([param], lr=config.lr)
        opt.load_state_dict(saved[1])
        sched = Schedule(opt, config, 2)
        sched.load_state_dict(saved[0])
        return sched, opt

    straight, opt = resume(saved)
    whole = _epoch_lrs(straight, opt, 6, 2)
    first, opt = resume(saved)
    part = _epoch_lrs(first, opt, 3, 2)
    second, opt = resume((first.state_dict(), opt.state_dict()))  # a kill after epoch 7
    assert part + _epoch_lrs(second, opt, 3, 2) == pytest.approx(whole)


def test_a_finished_cosine_run_resumed_to_more_epochs_keeps_annealing(fast_config, tmp_path):
    from workbench.engine.trainer import Trainer
    from workbench.runs import RunFolder

    fast_config.schedule, fast_config.epochs, fast_config.early_stopping = "cosine", 3, False
    Trainer(fast_config, out=tmp_path / "run").run()
    fast_config.epochs = 6  # `workbench train --resume RUN --epochs 6`
    Trainer(fast_config, resume=tmp_path / "run").run()
    lrs = [row["lr"] for row in RunFolder(tmp_path / "run").read_metrics()]
    assert len(lrs) == 6 and all(a > b > 0 for a, b in zip(lrs, lrs[1:], strict=False))
