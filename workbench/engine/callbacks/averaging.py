"""Weight averaging: an exponential moving average (EMA) of the weights, the model the run delivers.

torch's ``AveragedModel`` with ``get_ema_multi_avg_fn`` keeps the average, buffers included
(``use_buffers=True``: batch-norm statistics are averaged with the weights they belong to). It is
updated after every optimizer step and becomes ``run.eval_model``: what validation scores, what
best.pt / last.pt hold under ``"model"`` and so what is exported and predicted with. The weights
being trained sit in this callback's checkpoint entry, which resume puts back into ``run.model``.
"""

from __future__ import annotations

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from workbench.engine.callbacks.base import Callback


def warmed_decay(decay: float, updates: int) -> float:
    """The decay of update number ``updates`` (0-based): ``decay``, or (1 + n) / (10 + n) while
    that is lower (TensorFlow's ExponentialMovingAverage with num_updates), so the first hundred
    steps are not an average dominated by the random starting weights."""
    return min(decay, (1 + updates) / (10 + updates))


class WeightAveraging(Callback):
    state_key = "ema"

    def __init__(self, decay: float):
        self.decay = decay
        self.updates = 0  # optimizer steps averaged so far
        self.averaged: AveragedModel | None = None
        self._model: torch.nn.Module | None = None

    def on_setup(self, run) -> None:
        self._model = run.model
        self.averaged = AveragedModel(run.model, multi_avg_fn=get_ema_multi_avg_fn(self.decay),
                                      use_buffers=True)
        run.eval_model = self.averaged.module

    def on_run_start(self, run) -> None:
        if self.updates:
            run.log(f"Weight averaging (EMA, decay {self.decay:g}) resumed after {self.updates} steps.")
        else:
            run.log(f"Weight averaging (EMA, decay {self.decay:g}): validation, checkpoints and "
                    "exports use the averaged weights.")

    def on_step_end(self, run) -> None:
        # A fresh closure per step carries this step's decay; the update itself is one foreach
        # lerp per device and dtype, with no host synchronisation.
        self.averaged.multi_avg_fn = get_ema_multi_avg_fn(warmed_decay(self.decay, self.updates))
        self.averaged.update_parameters(self._model)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates,
                "n_averaged": int(self.averaged.n_averaged),
                # The checkpoint's "model" is the average; the weights being trained live here.
                "training_model": {k: v.detach().cpu() for k, v in self._model.state_dict().items()}}

    def load_checkpoint(self, checkpoint: dict) -> None:
        """The average from the checkpoint's ``"model"``, the trained weights from this entry. A
        checkpoint without the entry (weight averaging turned on at resume) starts the average
        from the weights it holds."""
        state = checkpoint.get(self.state_key)
        if state is None:
            return
        self._model.load_state_dict(state["training_model"])
        self.averaged.module.load_state_dict(checkpoint["model"])
        self.averaged.n_averaged.fill_(int(state["n_averaged"]))
        self.updates = int(state["updates"])
