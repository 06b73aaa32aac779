"""The non-finite-loss guard: a NaN or infinite loss ends the run at once, the best checkpoint kept."""

from __future__ import annotations

import math

from workbench.engine.callbacks.base import Callback


class NonFiniteLossGuard(Callback):
    """Stops on the first batch whose loss is NaN/inf (that batch is not reported) and on a
    validation loss that is not finite (that epoch is not recorded)."""

    def on_batch_end(self, run, batch) -> None:
        if not math.isfinite(batch.loss):
            run.stop("failed", f"loss became {batch.loss} at epoch {batch.epoch}, iteration "
                               f"{batch.iteration}: training diverged; try a lower learning rate")
            run.log(run.stop_reason + ". The best checkpoint is kept.")

    def on_validation_end(self, run, logs) -> None:
        if not math.isfinite(logs["val_loss"]):
            run.stop("failed", f"validation loss became {logs['val_loss']} in epoch {logs['epoch']}")
            run.log(run.stop_reason + "; the best checkpoint is kept.")
