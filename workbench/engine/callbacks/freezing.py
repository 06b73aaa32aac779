"""Backbone freezing: train only the classifier head for the first epochs, then everything, at once
or one layer group at a time from the top (gradual unfreezing, as ULMFiT does).

Which groups train is a pure function of the epoch (:meth:`BackboneFreezing.trainable_groups`), set
at the start of every epoch, so a resumed run continues the plan with no state of its own.
"""

from __future__ import annotations

from workbench.engine.callbacks.base import Callback
from workbench.models import layer_group_names, set_trainable_groups


class BackboneFreezing(Callback):
    def __init__(self, epochs: int, unfreeze_every: int = 0):
        self.epochs = epochs  # epochs with the backbone frozen (the head alone trains)
        self.unfreeze_every = unfreeze_every  # 0: the whole backbone is released at once

    def trainable_groups(self, epoch: int, n_groups: int) -> int:
        """How many layer groups, counted from the head, train in ``epoch`` (1-based)."""
        if epoch <= self.epochs:
            return 1
        if not self.unfreeze_every:
            return n_groups
        released = (epoch - self.epochs - 1) // self.unfreeze_every + 1
        return min(1 + released, n_groups)

    def on_run_start(self, run) -> None:
        if not self.unfreeze_every:
            return
        names = layer_group_names(run.config.model)
        plural = "s" if self.epochs > 1 else ""
        plan = [f"the head alone for {self.epochs} epoch{plural}"] if self.epochs else []
        late = []
        for k in range(1, len(names)):
            epoch = self.epochs + 1 + (k - 1) * self.unfreeze_every
            if epoch <= run.config.epochs:
                plan.append(f"{names[-1 - k]} from epoch {epoch}")
            else:
                late.append(names[-1 - k])
        if late:
            plan.append(f"{', '.join(late)} stay{'s' if len(late) == 1 else ''} frozen within "
                        f"{run.config.epochs} epochs")
        run.log(f"Gradual unfreezing ({', '.join(names)}): {'; '.join(plan)}.")

    def on_epoch_start(self, run, epoch: int) -> None:
        # Set every epoch, not only at a switch: a resumed run starts with a fresh model.
        names = layer_group_names(run.config.model)
        now = self.trainable_groups(epoch, len(names))
        set_trainable_groups(run.model, run.config.model, None if now == len(names) else now)
        before = self.trainable_groups(epoch - 1, len(names)) if epoch > 1 else 1
        if now <= before or self.epochs == 0 and not self.unfreeze_every:
            return
        if not self.unfreeze_every:
            run.log(f"Epoch {epoch}: backbone unfrozen, fine-tuning all layers.")
            return
        released = ", ".join(reversed(names[len(names) - now:len(names) - before]))
        rest = "; all layers now train" if now == len(names) else ""
        run.log(f"Epoch {epoch}: unfroze {released} (gradual unfreezing){rest}.")
