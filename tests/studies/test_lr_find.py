"""The learning-rate range test: its rates and stop rule, the suggestion's rules and refusals,
and no trace on the run after it."""

import csv
import json
import math
from types import SimpleNamespace

import pytest

from workbench.cli import main
from workbench.config import TrainConfig
from workbench.engine import events as ev
from workbench.engine.trainer import Trainer, TrainingError
from workbench.studies import lr_find
from workbench.studies.lr_find import LRRangeTest, find_learning_rate, suggest


class FakeRun:
    """What LRRangeTest touches of a trainer."""

    def __init__(self, iterations=20):
        self.iterations = iterations
        self.optimizer = SimpleNamespace(param_groups=[{"lr": 1.0}])
        self.data = SimpleNamespace(train=[0] * 100)
        self.config = TrainConfig(batch_size=5)
        self.stopped, self.logs, self.emitted = None, [], []

    def stop(self, status, reason):
        self.stopped = (status, reason)

    def log(self, message):
        self.logs.append(message)

    def emit(self, event):
        self.emitted.append(event)


def _sweep(losses, iterations=20, start=1e-6, end=1.0):
    run, test = FakeRun(iterations), LRRangeTest(start, end, iterations)
    test.on_run_start(run)
    used = []
    for i, loss in enumerate(losses):
        used.append(run.optimizer.param_groups[0]["lr"])
        test.on_step_end(run)
        test.on_batch_end(run, ev.BatchEnd(epoch=1, iteration=i + 1, iterations=iterations, loss=loss,
                                           lr=used[-1], images_per_sec=1.0))
        if run.stopped:
            break
    return run, test, used


def test_the_rate_grows_exponentially_from_start_to_end_and_each_step_uses_its_rate():
    run, test, used = _sweep([1.0] * 20, iterations=20, start=1e-6, end=1.0)
    assert test.lrs == pytest.approx([1e-6 * 10 ** (6 * i / 19) for i in range(20)])
    assert used == pytest.approx(test.lrs)  # the optimizer stepped with the rate recorded for it
    assert run.stopped[0] == "finished" and "swept 20 steps" in run.stopped[1]


def test_the_sweep_stops_when_the_smoothed_loss_passes_four_times_the_best():
    losses = [1.0] * 10 + [1000.0] * 10
    run, test, _ = _sweep(losses)
    assert "diverged" in run.stopped[1] and len(test.lrs) == 11  # the first huge loss is enough
    assert max(test.smoothed) > 4 * min(test.smoothed)


def test_a_nan_loss_stops_the_sweep():
    run, test, _ = _sweep([1.0, 0.9, float("nan"), 0.5])
    assert "became nan" in run.stopped[1] and len(test.smoothed) == 2


def test_a_short_epoch_is_swept_over_more_epochs_up_to_the_limit():
    run, test = FakeRun(iterations=30), LRRangeTest(1e-6, 1, 100)
    test.on_run_start(run)
    assert test.iterations == 100 and run.config.epochs == 4  # 100 steps: 4 epochs of 30
    assert "the sweep takes 100 steps over 4 epochs" in run.logs[0]
    run, test = FakeRun(iterations=3), LRRangeTest(1e-6, 1, 100)
    test.on_run_start(run)
    assert test.iterations == 3 * lr_find.MAX_EPOCHS and run.config.epochs == lr_find.MAX_EPOCHS
    run, test = FakeRun(iterations=200), LRRangeTest(1e-6, 1, 100)
    test.on_run_start(run)
    assert test.iterations == 100 and run.config.epochs == 1


def test_too_few_iterations_even_over_the_most_epochs_is_refused_with_the_numbers(monkeypatch):
    monkeypatch.setattr(lr_find, "MAX_EPOCHS", 2)
    with pytest.raises(TrainingError, match="give 3 iterations in one epoch, 6 in the 2 epochs a sweep "
                                            "may take; at least 8 are needed"):
        LRRangeTest(1e-6, 1, 100).on_run_start(FakeRun(iterations=3))


def test_suggestion_rules_on_a_known_curve():
    lrs = [10 ** (-6 + 6 * i / 49) for i in range(50)]
    # flat, then a descent steepest around 1e-3, a minimum near 1e-2, then divergence
    losses = [2.0 - 1.5 / (1 + math.exp(-(math.log10(lr) + 3) * 4)) + (0.5 if lr > 0.05 else 0) for lr in lrs]
    suggested, others, why = suggest(lrs, losses)
    # valley: two thirds of the way down the longest descent, below where it is steepest
    assert why == "" and 1e-4 < suggested < others["steepest"]
    assert set(others) == {"steepest", "minimum/10"} and 3e-4 < others["steepest"] < 3e-3
    assert others["minimum/10"] == pytest.approx(lrs[losses.index(min(losses))] / 10)


def test_no_descent_gives_no_suggestion_and_says_why():
    lrs = [10 ** (-6 + i / 5) for i in range(30)]
    assert suggest(lrs, [1.0 + i * 0.01 for i in range(30)])[0] is None
    assert "did not go down" in suggest(lrs, [1.0] * 30)[2]
    assert "too few for a curve" in suggest(lrs[:3], [1.0, 5.0, 30.0])[2]  # diverged from the start


def _metrics(run):
    with open(run / "metrics.csv") as fh:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(fh)]


def test_a_sweep_leaves_no_trace_on_the_next_run(fast_config, tmp_path):
    fast_config.batch_size = 4  # 13 iterations per epoch on the tiny set
    Trainer(fast_config, out=tmp_path / "before").run()
    result = find_learning_rate(fast_config, tmp_path / "sweep", iterations=100)
    Trainer(fast_config, out=tmp_path / "after").run()
    assert _metrics(tmp_path / "before") == _metrics(tmp_path / "after")
    # 13 iterations an epoch: the sweep goes on into further epochs (until 100 steps or divergence).
    assert len(result.lrs) > 13 and result.lrs[0] == pytest.approx(1e-7)
    saved = json.loads((tmp_path / "sweep" / "lr_find.json").read_text())
    assert {"lrs", "losses", "suggested_lr", "rule"} <= set(saved)
    assert (tmp_path / "sweep" / "lr_find.png").read_bytes()[:4] == b"\x89PNG"


def test_the_command_line_prints_the_suggestion_or_refuses_clearly(fast_config, tmp_path, capsys,
                                                                   monkeypatch):
    common = [fast_config.data_dir, "--image-size", "32", "--workers", "1"]
    code = main(["lr-find", *common, "--batch-size", "4", "--out", str(tmp_path / "sweep")])
    out, err = capsys.readouterr()
    assert code in (0, 1)  # 1 when the tiny curve has no descent: then it says why
    assert ("Suggested learning rate" in err) if code == 0 else ("No learning rate suggested" in err)
    assert "lr_find.json" in out
    monkeypatch.setattr(lr_find, "MAX_EPOCHS", 1)  # 2 iterations at batch 32: too few in one epoch
    assert main(["lr-find", *common, "--batch-size", "32", "--out", str(tmp_path / "too-few")]) == 1
    err = capsys.readouterr().err
    assert "error: Too few images for a learning-rate sweep" in err and "Traceback" not in err


def test_layer_wise_rates_keep_their_ratio_to_the_swept_head_rate():
    run, test = FakeRun(), LRRangeTest(1e-6, 1.0, 20)
    run.optimizer.param_groups = [{"lr": 0.25}, {"lr": 0.5}, {"lr": 1.0}]  # decay 0.5, head last
    test.on_run_start(run)
    test.on_step_end(run)
    assert [g["lr"] for g in run.optimizer.param_groups] == pytest.approx(
        [0.25 * test.rate(1), 0.5 * test.rate(1), test.rate(1)])


def test_rates_follow_the_steps_when_losses_arrive_in_bursts():
    """On a GPU the loop reads losses back every 20 batches: the rate of each step must follow
    the steps taken, not the losses read so far."""
    run, test = FakeRun(), LRRangeTest(1e-6, 1.0, 20)
    test.on_run_start(run)
    used = []
    for _ in range(5):  # five steps, no loss read yet
        used.append(run.optimizer.param_groups[0]["lr"])
        test.on_step_end(run)
    assert used == pytest.approx([test.rate(i) for i in range(5)])
    for i, lr in enumerate(used, start=1):
        test.on_batch_end(run, ev.BatchEnd(epoch=1, iteration=i, iterations=20, loss=1.0, lr=lr,
                                           images_per_sec=1.0))
    assert test.lrs == pytest.approx(used)
