"""Learning-rate schedules from ``torch.optim.lr_scheduler``, chosen by name.

**Extending a run** (resuming it with a different number of epochs) continues each schedule:

* ``cosine`` and ``one_cycle`` anneal from the rate of the last epoch (or batch) trained down to
  their final rate at the end of the new total, along a cosine over the epochs (or batches) left.
  Their original curve would reach its minimum at the old end, train an epoch at rate 0, then
  climb back to the maximum.
* ``step`` and ``exponential`` keep applying their rule (every ``step_size`` epochs, every epoch).
* ``reduce_on_plateau`` carries on watching the metric with its patience count.
* ``none`` keeps the rate.

Resuming with the same number of epochs (after a stop or a kill) continues exactly as if the run
had never been interrupted.

**Several parameter groups** (layer-wise learning rates, ``layer_lr_decay``): every schedule scales
each group's own rate, so their ratios hold throughout; one-cycle peaks at each group's own rate.
(Extended, one-cycle's cosine tail then ends at 0 rather than at 1/250000 of each rate: a cosine
has one floor for all groups, and 0 is the one that keeps the ratios.)
The rate reported (:attr:`Schedule.lr`) is the last group's: the head's.
"""

from __future__ import annotations

import math
import warnings

from torch.optim import Optimizer, lr_scheduler

from workbench.config import TrainConfig

# OneCycleLR's defaults: it starts at max_lr / 25 and ends at that / 1e4.
_ONE_CYCLE_FINAL_DIVISOR = 25 * 1e4


class Schedule:
    """Wraps a torch scheduler and knows when to step it: per batch (one-cycle), per epoch,
    or per epoch with the monitored metric (reduce-on-plateau)."""

    def __init__(self, optimizer: Optimizer, config: TrainConfig, steps_per_epoch: int):
        self.name = config.schedule
        self.epochs = epochs = config.epochs
        self.optimizer = optimizer
        self.per_batch = self.name == "one_cycle"
        if self.name == "none":
            self.scheduler = None
        elif self.name == "step":
            self.scheduler = lr_scheduler.StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)
        elif self.name == "exponential":
            self.scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=config.gamma)
        elif self.name == "cosine":
            self.scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
        elif self.name == "one_cycle":
            self.scheduler = lr_scheduler.OneCycleLR(
                optimizer, max_lr=[group["lr"] for group in optimizer.param_groups], epochs=epochs,
                steps_per_epoch=max(steps_per_epoch, 1))
        elif self.name == "reduce_on_plateau":
            mode = "min" if config.monitor.endswith("loss") else "max"
            self.scheduler = lr_scheduler.ReduceLROnPlateau(
                optimizer, mode=mode, factor=config.plateau_factor, patience=config.plateau_patience)
        else:
            raise ValueError(f"unknown schedule {self.name!r}")
        self._final_lr = config.lr / _ONE_CYCLE_FINAL_DIVISOR if self.per_batch else 0.0
        if len(optimizer.param_groups) > 1:
            # The extension's cosine has one floor for all groups: 0 keeps their ratios exact.
            self._final_lr = 0.0
        self._total_batch_steps = epochs * max(steps_per_epoch, 1)
        self._batch_steps = 0
        self._lr_used: float | None = None  # the rate of the last epoch (or batch) trained
        self._lrs_used: list[float] | None = None  # … of every parameter group

    def after_batch(self) -> None:
        # Stepping a per-batch schedule past its end raises (OneCycleLR) or turns it back up
        # (cosine): the last steps keep the final rate instead.
        if self.per_batch:
            self._note_lr_used()
            if self._batch_steps < self._total_batch_steps - 1:
                self.scheduler.step()
        self._batch_steps += 1

    def after_epoch(self, metrics: dict[str, float], monitor: str) -> None:
        if not self.per_batch:
            self._note_lr_used()
        if self.name == "reduce_on_plateau":
            value = metrics.get(monitor)
            if value is not None:
                self.scheduler.step(value)
        elif self.scheduler is not None and not self.per_batch:
            self.scheduler.step()

    def _note_lr_used(self) -> None:
        self._lrs_used = [float(group["lr"]) for group in self.optimizer.param_groups]
        self._lr_used = self._lrs_used[-1]

    @property
    def lr(self) -> float:
        """The head's rate (the last parameter group's; the only one without layer-wise rates)."""
        return float(self.optimizer.param_groups[-1]["lr"])

    def state_dict(self) -> dict:
        state = self.scheduler.state_dict() if self.scheduler is not None else {}
        return {"scheduler": state, "batch_steps": self._batch_steps, "epochs": self.epochs,
                "kind": type(self.scheduler).__name__, "lr_used": self._lr_used,
                "lrs_used": self._lrs_used}

    def load_state_dict(self, state: dict) -> None:
        saved = state.get("scheduler")
        if self.scheduler is not None and saved:
            if state.get("kind") == "CosineAnnealingLR" and self.name == "one_cycle":
                self._anneal(1)  # an extended one-cycle run: its tail is a cosine (see _extend)
            self.scheduler.load_state_dict(saved)
            # Building a scheduler resets the optimizer's rate (OneCycleLR sets its start rate);
            # put back the rate the saved schedule had reached.
            last = getattr(self.scheduler, "_last_lr", None)
            if last:
                for group, lr in zip(self.optimizer.param_groups, last, strict=False):
                    group["lr"] = lr
        self._batch_steps = state.get("batch_steps", 0)
        self._lr_used = state.get("lr_used")
        self._lrs_used = state.get("lrs_used")
        if self._lrs_used is None and self._lr_used is not None:  # saved before groups were kept
            self._lrs_used = [self._lr_used] * len(self.optimizer.param_groups)
        built_for = state.get("epochs") or _epochs_of(self.name, saved, self._total_batch_steps, self.epochs)
        if built_for != self.epochs and self.name in ("cosine", "one_cycle"):
            self._extend(_cosine_lrs_used(saved) if self._lrs_used is None else self._lrs_used)

    def _extend(self, lrs_used: list[float] | None) -> None:
        """Anneal from the rates last trained with to the final rate over what is left."""
        done = self._batch_steps if self.per_batch else self.scheduler.last_epoch
        total = self._total_batch_steps - 1 if self.per_batch else self.epochs
        if lrs_used is not None and len(lrs_used) == len(self.optimizer.param_groups):
            for group, lr in zip(self.optimizer.param_groups, lrs_used, strict=True):
                group["lr"] = lr
        # Step 0 of the new curve is the step already trained, so the next one is already lower.
        self._anneal(max(total - done, 0) + 1)
        with warnings.catch_warnings():  # torch warns of a step before optimizer.step(): intended here
            warnings.simplefilter("ignore", UserWarning)
            self.scheduler.step()

    def _anneal(self, steps: int) -> None:
        for group in self.optimizer.param_groups:
            group["initial_lr"] = group["lr"]  # the cosine starts where the run is now
        self.scheduler = lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=steps, eta_min=self._final_lr)


def _cosine_lrs_used(saved: dict | None) -> list[float] | None:
    """The rates a cosine schedule saved without ``lr_used`` trained its last epoch with."""
    if not saved or "T_max" not in saved or not saved.get("base_lrs"):
        return None
    step, t_max, low = saved["last_epoch"] - 1, saved["T_max"], saved.get("eta_min", 0.0)
    return [low + (base - low) * (1 + math.cos(math.pi * step / t_max)) / 2 for base in saved["base_lrs"]]


def _epochs_of(name: str, saved: dict | None, total_batch_steps: int, epochs: int) -> int:
    """The epochs a schedule saved before the state recorded them was built for."""
    if not saved:
        return epochs
    if name == "cosine" and "T_max" in saved:
        return int(saved["T_max"])
    if name == "one_cycle" and "total_steps" in saved:
        steps_per_epoch = max(total_batch_steps // max(epochs, 1), 1)
        return int(saved["total_steps"]) // steps_per_epoch
    return epochs
