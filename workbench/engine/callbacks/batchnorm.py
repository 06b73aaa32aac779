"""Batch-norm statistics that are right from the first steps of a model trained from scratch.

A fresh batch-norm layer's running variance is 1 and its mean 0, whatever its inputs really are,
and the running statistics (what validation uses) forget that start only at ``momentum`` per
step: 0.9 ** 16 = 19 % of it is still there after 16 steps at momentum 0.1. Where a layer's real
variance is tiny, as in MobileNetV3's deeper blocks, that start dominates, and in eval mode each
layer passes the error on to the next: mobilenet_v3_small at 32 px scored 41 % (always one class
of two) after 16 steps, while the same weights with freshly measured statistics scored 70 %.

:class:`BatchNormWarmStart` makes step ``n``'s weight in the running statistics
``max(momentum, 1 / n)``: the first batch replaces the initial values, the next ones average in
as a plain mean (PyTorch's ``momentum=None``), and from step ``1 / momentum`` on the layer's own
momentum takes over. With those weights the statistics are the debiased moving average (as
Adam debiases its moments), so validation tracks training from the first epoch.
"""

from __future__ import annotations

from torch import nn

from workbench.engine.callbacks.base import Callback


class BatchNormWarmStart(Callback):
    """Raises every batch-norm layer's momentum to ``1 / step`` over the first steps of a run
    trained from scratch. Pretrained (or loaded) weights come with real statistics, which a
    first batch must not wipe out, so the trainer only adds this without them."""

    def __init__(self) -> None:
        self._layers: list[tuple[nn.modules.batchnorm._BatchNorm, float]] = []
        self._step = 0  # optimizer steps this run has taken (counting epochs before a resume)
        self._warm = True

    def on_run_start(self, run) -> None:
        self._layers = [(m, m.momentum) for m in run.model.modules()
                        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.momentum is not None]

    def on_epoch_start(self, run, epoch: int) -> None:
        # A pure function of the position in the run: a resume continues where it was.
        self._step = (epoch - 1) * run.iterations
        self._set_momentum()

    def on_step_end(self, run) -> None:
        self._step += 1
        if self._warm:
            self._set_momentum()

    def on_run_end(self, run) -> None:
        self._restore()

    def on_error(self, run, exc, fault) -> None:
        self._restore()

    def _set_momentum(self) -> None:
        """Each layer's weight for the next step's batch: ``1 / (step + 1)`` while that is above
        its own momentum; after that its own (and nothing more to do each step)."""
        warm = 1.0 / (self._step + 1)
        self._warm = False
        for layer, momentum in self._layers:
            layer.momentum = max(momentum, warm)
            self._warm |= warm > momentum

    def _restore(self) -> None:
        for layer, momentum in self._layers:
            layer.momentum = momentum
