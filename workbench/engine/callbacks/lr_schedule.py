"""The learning-rate schedule as a callback: stepped per batch or per epoch as its kind needs."""

from __future__ import annotations

from workbench.engine.callbacks.base import Callback
from workbench.engine.schedules import Schedule


class LRSchedule(Callback):
    state_key = "schedule"

    def __init__(self) -> None:
        self.schedule: Schedule | None = None

    def on_setup(self, run) -> None:
        self.schedule = Schedule(run.optimizer, run.config, run.iterations)

    def on_step_end(self, run) -> None:
        self.schedule.after_batch()

    def on_epoch_end(self, run, logs) -> None:
        self.schedule.after_epoch(logs, run.config.monitor)

    def state_dict(self) -> dict:
        return self.schedule.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.schedule.load_state_dict(state)
