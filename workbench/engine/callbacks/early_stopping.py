"""Early stopping as a callback: Keras' decision (:mod:`workbench.engine.early_stopping`), used as is.

"No early stopping" means this callback is not in the run's list; which checkpoint is the best is
:class:`~workbench.engine.callbacks.best.BestCheckpoint`'s job, not this one's.
"""

from __future__ import annotations

from workbench.engine import events as ev
from workbench.engine.callbacks.base import Callback
from workbench.engine.early_stopping import EarlyStopping


class EarlyStoppingCallback(Callback):
    state_key = "early_stopping"

    def __init__(self, monitor: str, min_delta: float, patience: int, baseline: float | None,
                 start_from_epoch: int):
        self.early_stopping = EarlyStopping(monitor=monitor, min_delta=min_delta, patience=patience,
                                            baseline=baseline, start_from_epoch=start_from_epoch)

    def on_epoch_end(self, run, logs) -> None:
        es = self.early_stopping
        metrics = {"val_loss": logs["val_loss"], "val_accuracy": logs["val_acc"]}  # Keras' names
        if es.on_epoch_end(logs["epoch"] - 1, metrics):
            reason = es.stop_reason()
            run.stop("finished", f"stopped early: {reason}")
            run.emit(ev.EarlyStop(epoch=logs["epoch"], reason=reason))
            run.log(f"Epoch {logs['epoch']}: early stopping ({reason}).")

    def state_dict(self) -> dict:
        return self.early_stopping.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.early_stopping.load_state_dict(state)
        # Resuming is the user asking for more epochs: an earlier early stop is history, while
        # the best value and the patience count carry on.
        self.early_stopping.stop_training = False
