"""Learning-rate schedules from ``torch.optim.lr_scheduler``, chosen by name."""

from __future__ import annotations

from torch.optim import Optimizer, lr_scheduler

from workbench.config import TrainConfig


class Schedule:
    """Wraps a torch scheduler and knows when to step it: per batch (one-cycle), per epoch,
    or per epoch with the monitored metric (reduce-on-plateau)."""

    def __init__(self, optimizer: Optimizer, config: TrainConfig, steps_per_epoch: int):
        self.name = config.schedule
        epochs = config.epochs
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
                optimizer, max_lr=config.lr, epochs=epochs, steps_per_epoch=max(steps_per_epoch, 1))
        elif self.name == "reduce_on_plateau":
            mode = "min" if config.monitor.endswith("loss") else "max"
            self.scheduler = lr_scheduler.ReduceLROnPlateau(
                optimizer, mode=mode, factor=config.plateau_factor, patience=config.plateau_patience)
        else:
            raise ValueError(f"unknown schedule {self.name!r}")
        self.optimizer = optimizer
        self._total_batch_steps = epochs * max(steps_per_epoch, 1)
        self._batch_steps = 0

    def after_batch(self) -> None:
        # OneCycleLR raises when stepped past its total; a resumed run with more epochs than
        # the cycle was built for keeps the final learning rate instead.
        if self.name == "one_cycle" and self._batch_steps < self._total_batch_steps - 1:
            self.scheduler.step()
        self._batch_steps += 1

    def after_epoch(self, metrics: dict[str, float], monitor: str) -> None:
        if self.name == "reduce_on_plateau":
            value = metrics.get(monitor)
            if value is not None:
                self.scheduler.step(value)
        elif self.scheduler is not None and self.name != "one_cycle":
            self.scheduler.step()

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict:
        state = self.scheduler.state_dict() if self.scheduler is not None else {}
        return {"scheduler": state, "batch_steps": self._batch_steps}

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler is not None and state.get("scheduler"):
            self.scheduler.load_state_dict(state["scheduler"])
            # Building a scheduler resets the optimizer's rate (OneCycleLR sets its start rate);
            # put back the rate the saved schedule had reached.
            last = getattr(self.scheduler, "_last_lr", None)
            if last:
                for group, lr in zip(self.optimizer.param_groups, last, strict=False):
                    group["lr"] = lr
        self._batch_steps = state.get("batch_steps", 0)
