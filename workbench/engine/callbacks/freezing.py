"""Backbone freezing: train only the classifier head for the first epochs, then everything."""

from __future__ import annotations

from workbench.engine.callbacks.base import Callback
from workbench.models import set_backbone_frozen


class BackboneFreezing(Callback):
    def __init__(self, epochs: int):
        self.epochs = epochs  # epochs with the backbone frozen

    def on_epoch_start(self, run, epoch: int) -> None:
        # Set every epoch, not only at the switch: a resumed run starts with a fresh model.
        set_backbone_frozen(run.model, run.config.model, frozen=epoch <= self.epochs)
        if epoch == self.epochs + 1 and self.epochs > 0:
            run.log(f"Epoch {epoch}: backbone unfrozen, fine-tuning all layers.")
