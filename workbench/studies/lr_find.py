"""The learning-rate range test (Smith 2015; fastai's ``lr_find``, Lightning's ``Tuner.lr_find``).

The learning rate grows exponentially from ``start_lr`` to ``end_lr`` over a bounded number of
optimizer steps (100 by default; on a small set, over as many epochs as that takes, at most
``MAX_EPOCHS``, as fastai's sweep does) while the loss of each batch is recorded. The loss is
smoothed (an exponential moving average with bias correction) and the sweep stops early once it
diverges (the smoothed loss over 4 × the best so far, or not finite). A suggestion is read off
the smoothed curve by a named rule; when the curve has no descent none is invented.

The sweep is an ordinary :class:`~workbench.engine.trainer.Trainer` with one callback in place of
the standard ones (no checkpoints, no schedule, no early stopping), so it leaves no trace on a
later run: that run builds its own model, optimizer and schedule and seeds its random streams.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbench.config import TrainConfig
from workbench.engine import events as ev
from workbench.engine.callbacks import Callback
from workbench.engine.trainer import Trainer, TrainingError

RULES = ("valley", "steepest", "minimum/10")
MIN_ITERATIONS = 8  # fewer points than this make no curve
# A small set's epoch holds few batches (the sample data: 10 at batch 32): the sweep goes on into
# further epochs, up to this many. One epoch's 9 points gave a curve too coarse to read: its
# steepest segment suggested 3.2e-2, at which small_cnn stayed at chance.
MAX_EPOCHS = 20
DIVERGENCE = 4.0  # stop once the smoothed loss exceeds this multiple of the best


@dataclass
class LRFindResult:
    """A finished sweep: rates and smoothed losses per step, and the suggestion with its rule."""

    lrs: list[float]
    losses: list[float]  # smoothed
    raw_losses: list[float]
    suggested_lr: float | None
    rule: str
    alternatives: dict[str, float] = field(default_factory=dict)  # other rules' answers
    stop_reason: str = ""
    message: str = ""  # why no suggestion was made, or a note for the user
    out: str = ""  # the sweep's folder (lr_find.json, lr_find.png)

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.suggested_lr is None:
            return f"No learning rate suggested: {self.message}"
        others = ", ".join(f"{rule} {lr:.2g}" for rule, lr in self.alternatives.items())
        return (f"Suggested learning rate {self.suggested_lr:.2g} ({self.rule} of the smoothed loss)"
                + (f"; other rules: {others}" if others else "") + ".")


class LRRangeTest(Callback):
    """Sets the rate of every optimizer step and records the loss it gave."""

    def __init__(self, start_lr: float, end_lr: float, iterations: int, beta: float = 0.98):
        self.start_lr, self.end_lr, self.asked, self.beta = start_lr, end_lr, iterations, beta
        self.lrs: list[float] = []
        self.raw: list[float] = []
        self.smoothed: list[float] = []
        self.stop_reason = ""
        self.steps = 0  # optimizer steps taken: on a GPU the losses arrive in bursts, behind

    def on_run_start(self, run) -> None:
        most = MAX_EPOCHS * run.iterations
        if most < MIN_ITERATIONS:
            raise TrainingError(
                f"Too few images for a learning-rate sweep: {len(run.data.train)} training images at "
                f"batch size {run.config.batch_size} give {run.iterations} iterations in one epoch, "
                f"{most} in the {MAX_EPOCHS} epochs a sweep may take; at least {MIN_ITERATIONS} are "
                "needed. Lower the batch size.")
        self.iterations = min(self.asked, most)
        epochs = math.ceil(self.iterations / run.iterations)
        # The loop reads the epoch count after on_run_start: the sweep's own run goes on for these.
        run.config = dataclasses.replace(run.config, epochs=epochs)
        if epochs > 1:
            run.log(f"One epoch has {run.iterations} iterations: the sweep takes {self.iterations} "
                    f"steps over {epochs} epochs.")
        if self.iterations < self.asked:
            run.log(f"The sweep takes {self.iterations} steps, not {self.asked} ({MAX_EPOCHS} epochs "
                    "at most).")
        # With layer-wise rates (layer_lr_decay) every group keeps its ratio to the head's rate,
        # which is the one swept and suggested.
        head = run.optimizer.param_groups[-1]["lr"]
        self.ratios = [group["lr"] / head for group in run.optimizer.param_groups]
        self._set_lr(run, 0)

    def rate(self, step: int) -> float:
        return self.start_lr * (self.end_lr / self.start_lr) ** (step / max(self.iterations - 1, 1))

    def _set_lr(self, run, step: int) -> None:
        for group, ratio in zip(run.optimizer.param_groups, self.ratios, strict=True):
            group["lr"] = self.rate(step) * ratio

    def on_step_end(self, run) -> None:
        self.steps += 1
        self._set_lr(run, min(self.steps, self.iterations - 1))

    def on_batch_end(self, run, batch) -> None:
        step = len(self.lrs)
        self.lrs.append(batch.lr)  # the rate this batch's step used
        self.raw.append(batch.loss)
        run.emit(batch)
        if not math.isfinite(batch.loss):
            return self._stop(run, f"the loss became {batch.loss} at learning rate {self.lrs[-1]:.2g}")
        previous = self.smoothed[-1] * (1 - self.beta ** step) if self.smoothed else 0.0
        average = self.beta * previous + (1 - self.beta) * batch.loss
        self.smoothed.append(average / (1 - self.beta ** (step + 1)))
        if step > 0 and self.smoothed[-1] > DIVERGENCE * min(self.smoothed):
            return self._stop(run, f"the loss diverged at learning rate {self.lrs[-1]:.2g}")
        if len(self.lrs) >= self.iterations:
            self._stop(run, f"swept {self.iterations} steps up to {self.lrs[-1]:.2g}")

    def _stop(self, run, reason: str) -> None:
        self.stop_reason = reason
        run.stop("finished", f"learning-rate sweep ended: {reason}")
        run.log(f"Learning-rate sweep ended: {reason}.")


def suggest(lrs: list[float], losses: list[float]) -> tuple[float | None, dict[str, float], str]:
    """(suggested rate by fastai's valley rule, the other rules' rates, why none) from a sweep's
    rates and smoothed losses. None when the loss never went down.

    Valley, not the steepest descent, is the suggestion (as in fastai since 2.5): the steepest
    segment of a noisy small-set curve is wherever two batches happened to differ most. On the
    sample data's 75-point sweep it was 1.8e-6 (cross-validated at that rate small_cnn stayed at
    chance, 26 %), where valley read 4.3e-4 and minimum/10 3.8e-3 (the default 1e-3 trains to 96 %)."""
    finite = [i for i, loss in enumerate(losses) if math.isfinite(loss)]
    if len(finite) < MIN_ITERATIONS:
        return None, {}, (f"the sweep ended after {len(losses)} steps, too few for a curve; the loss "
                          "diverged at once, so start the sweep lower (--start-lr) or check the data")
    lrs, losses = [lrs[i] for i in finite], [losses[i] for i in finite]
    best = min(range(len(losses)), key=losses.__getitem__)
    # The start is the mean of the first tenth, not the first point: one lucky first batch would
    # otherwise make a descending curve look flat.
    start = sum(losses[:max(len(losses) // 10, 2)]) / max(len(losses) // 10, 2)
    if best == 0 or start - losses[best] <= 0.01 * abs(start):
        return None, {}, ("the loss did not go down anywhere in the sweep (from "
                          f"{start:.4g} it never fell by more than 1 %), so no rate can be read off")
    logs = [math.log(lr) for lr in lrs]
    # The first tenth of the sweep is skipped (as Lightning skips its first 10 of 100 steps):
    # there the rate is too small to change anything and batch-to-batch noise makes the slopes.
    skip = min(max(len(losses) // 10, 1), best - 1)
    slopes = {i: (losses[i + 1] - losses[i]) / (logs[i + 1] - logs[i]) for i in range(skip, best)}
    i = min(slopes, key=slopes.__getitem__)
    # A slope belongs to the segment between two rates: its middle (on the log axis) is where the
    # loss falls fastest. With 100 steps that is half a step from either end; with the 10 steps
    # of a small set's epoch it is the difference between the segment's start and its centre.
    steepest = math.sqrt(lrs[i] * lrs[i + 1])
    return lrs[_valley(losses)], {"steepest": steepest, "minimum/10": lrs[best] / 10}, ""


def _valley(losses: list[float]) -> int:
    """fastai's "valley": the longest run of decreasing losses, two thirds of the way down it."""
    n = len(losses)
    longest = [1] * n
    start = end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
        if longest[i] > longest[end]:
            end = i
            start = end - longest[end] + 1
    third = (end - start) / 3
    return min(start + int(third) + int(third / 2), n - 1)


class LearningRateFinder:
    """One sweep, shaped like the other studies (``subscribe``, ``request_stop``, ``run``) so the
    window runs it as it runs a training. ``run()`` returns the :class:`LRFindResult` and emits it
    as an :class:`~workbench.engine.events.LRFindEnd`."""

    def __init__(self, config: TrainConfig, out: str | Path | None = None, *, start_lr: float = 1e-7,
                 end_lr: float = 10.0, iterations: int = 100, runs_root=None, scan=None):
        if not 0 < start_lr < end_lr <= 100:
            raise TrainingError(f"The sweep needs 0 < start rate < end rate ≤ 100, got {start_lr:g} "
                                f"and {end_lr:g}.")
        if not 1 <= iterations <= 10_000:
            raise TrainingError(f"The sweep's iterations must be between 1 and 10000, got {iterations}.")
        self.test = LRRangeTest(start_lr, end_lr, iterations)
        out_root = None
        if out is None:
            from workbench.runs import default_runs_root

            out_root = (Path(runs_root) if runs_root else default_runs_root()) / "lr-find"
        self.trainer = Trainer(config, out=out, runs_root=out_root, scan=scan, callbacks=[self.test],
                               standard_callbacks=False)

    def subscribe(self, fn):
        return self.trainer.subscribe(fn)

    def request_stop(self) -> None:
        """End the sweep after the current batch; the suggestion is read off what was swept."""
        self.trainer.request_stop()

    def run(self) -> LRFindResult:
        test, trainer = self.test, self.trainer
        trainer.run()
        suggested, alternatives, why = suggest(test.lrs, test.smoothed)
        folder = trainer.run_folder
        result = LRFindResult(lrs=test.lrs, losses=test.smoothed, raw_losses=test.raw,
                              suggested_lr=suggested, rule="valley" if suggested else "",
                              alternatives=alternatives, stop_reason=test.stop_reason or "stopped by user",
                              message=why, out=str(folder.path))
        folder.write_json(folder.path / "lr_find.json", result.to_dict())
        from workbench.studies.png_plot import save_lr_plot

        save_lr_plot(result, folder.path / "lr_find.png")
        trainer.log(result.describe())
        trainer.emit(ev.LRFindEnd(result=result.to_dict()))
        return result


def find_learning_rate(config: TrainConfig, out: str | Path | None = None, *, start_lr: float = 1e-7,
                       end_lr: float = 10.0, iterations: int = 100, runs_root=None, scan=None,
                       subscribe=None) -> LRFindResult:
    """Run the sweep on ``config``'s data and model; write ``lr_find.json`` and ``lr_find.png``
    into the output folder (a new one under the runs folder's ``lr-find/`` by default)."""
    finder = LearningRateFinder(config, out, start_lr=start_lr, end_lr=end_lr, iterations=iterations,
                                runs_root=runs_root, scan=scan)
    if subscribe is not None:
        finder.subscribe(subscribe)
    return finder.run()
