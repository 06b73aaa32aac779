"""Guards that end a run whose numbers mean nothing, keeping the best checkpoint: a NaN or
infinite loss, and an epoch in which no image could be read."""

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
        if logs["val_loss"] is not None and not math.isfinite(logs["val_loss"]):
            run.stop("failed", f"validation loss became {logs['val_loss']} in epoch {logs['epoch']}")
            run.log(run.stop_reason + "; the best checkpoint is kept.")


class EmptyPassGuard(Callback):
    """Stops when an epoch trained or scored no image at all (say the files were moved or
    overwritten during the run: streamed images are read every epoch). Such an epoch's "loss 0,
    accuracy 0 %" is no measurement, so it is never recorded, nor ever the best."""

    def on_validation_end(self, run, logs) -> None:
        for part in ("train", "val"):
            if logs.get(f"{part}_images") == 0:
                where = "training" if part == "train" else "validation"
                run.stop("failed", f"no {where} image could be read in epoch {logs['epoch']} (were the "
                                   "files moved, deleted or overwritten during the run?)")
                run.log(run.stop_reason + "; the best checkpoint is kept.")
                return
