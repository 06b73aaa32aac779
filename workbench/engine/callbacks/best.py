"""Which epoch is the best so far: the one whose weights best.pt holds."""

from __future__ import annotations

from workbench.engine.callbacks.base import Callback
from workbench.engine.early_stopping import improves, monitor_mode

# TrainConfig.monitor names → the metrics row's keys.
MONITOR_KEYS = {"val_loss": "val_loss", "val_accuracy": "val_acc"}


class BestCheckpoint(Callback):
    """Tracks the best epoch by ``monitor`` as Keras' best-weights snapshot does: before
    ``start_from_epoch`` every epoch is the best (there is nothing to compare), then the first
    monitored epoch, then each that improves on the best by more than ``min_delta``.

    ``improved`` tells the checkpoint writer whether this epoch's weights are the new best.
    """

    state_key = "best_checkpoint"

    def __init__(self, monitor: str, min_delta: float = 0.0, start_from_epoch: int = 0):
        self.monitor, self.key = monitor, MONITOR_KEYS[monitor]
        self.mode = monitor_mode(monitor)
        self.min_delta, self.start_from_epoch = abs(min_delta), start_from_epoch
        self.value: float | None = None  # the best monitored value; None before monitoring
        self.epoch: int | None = None  # 1-based
        self.improved = False

    def on_epoch_end(self, run, logs) -> None:
        epoch = logs["epoch"]
        if epoch <= self.start_from_epoch or logs[self.key] is None:
            self.improved = True  # nothing to compare (or no validation at all): the latest is best
        else:
            current = float(logs[self.key])
            self.improved = self.value is None or improves(current, self.value, self.mode, self.min_delta)
            if self.improved:
                self.value = current
        if self.improved:
            self.epoch = epoch

    def state_dict(self) -> dict:
        return {"monitor": self.monitor, "mode": self.mode, "value": self.value, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        if (state["monitor"], state["mode"]) != (self.monitor, self.mode):
            raise ValueError(f"best-checkpoint state is for {state['monitor']}, not {self.monitor}")
        self.value = None if state["value"] is None else float(state["value"])
        self.epoch = None if state["epoch"] is None else int(state["epoch"])

    def load_checkpoint(self, checkpoint: dict) -> None:
        if self.state_key in checkpoint:
            return super().load_checkpoint(checkpoint)
        # Checkpoints from before this callback kept the best in the early-stopping state.
        old = checkpoint.get("early_stopping")
        if old and old.get("monitor") == self.monitor:
            self.value = None if old["best"] is None else float(old["best"])
            self.epoch = int(old["best_epoch"]) + 1 if old["best"] is not None else int(checkpoint["epoch"])
