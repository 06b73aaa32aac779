"""One concern of a training run per callback (see :mod:`.base` for the hooks and their order)."""

from __future__ import annotations

from workbench.config import TrainConfig
from workbench.engine.callbacks.averaging import WeightAveraging
from workbench.engine.callbacks.base import HOOKS, Callback, CallbackList
from workbench.engine.callbacks.batchnorm import BatchNormWarmStart
from workbench.engine.callbacks.best import BestCheckpoint
from workbench.engine.callbacks.calibration import TemperatureScaling
from workbench.engine.callbacks.checkpoints import CheckpointSaver
from workbench.engine.callbacks.early_stopping import EarlyStoppingCallback
from workbench.engine.callbacks.freezing import BackboneFreezing
from workbench.engine.callbacks.guards import EmptyPassGuard, NonFiniteLossGuard
from workbench.engine.callbacks.leakage import LeakageCheck
from workbench.engine.callbacks.lr_schedule import LRSchedule
from workbench.engine.callbacks.publisher import EventPublisher
from workbench.engine.callbacks.report import FinalReport
from workbench.engine.callbacks.run_files import SummaryWriter
from workbench.engine.callbacks.tensorboard import TensorBoardLogger
from workbench.engine.callbacks.test_set import TestSetReport

__all__ = ["HOOKS", "BackboneFreezing", "BatchNormWarmStart", "BestCheckpoint", "Callback", "CallbackList",
           "CheckpointSaver",
           "EarlyStoppingCallback", "EmptyPassGuard", "EventPublisher", "FinalReport", "LRSchedule",
           "LeakageCheck", "NonFiniteLossGuard", "SummaryWriter", "TemperatureScaling", "TensorBoardLogger",
           "TestSetReport", "WeightAveraging",
           "default_callbacks"]


def default_callbacks(config: TrainConfig, best: BestCheckpoint) -> list[Callback]:
    """The callbacks every run has, in hook order. The order matters where one reads another's
    result: the checkpoint writer and the events read ``best``; the events carry the summary;
    early stopping comes last so an epoch is saved and reported before the run stops on it."""
    callbacks: list[Callback] = [
        NonFiniteLossGuard(),  # first: a NaN batch is not reported, a NaN epoch not recorded
        EmptyPassGuard(),
        # Warns in on_setup, before the first epoch, of duplicates across the split.
        *([LeakageCheck(config.near_duplicate_distance)] if config.leakage_check else []),
        BackboneFreezing(config.freeze_backbone_epochs, config.unfreeze_every),
        *([] if config.pretrained or config.weights_path else [BatchNormWarmStart()]),
        LRSchedule(),
        *([WeightAveraging(config.ema_decay)] if config.ema else []),  # before anything validates
        best,
        CheckpointSaver(best),
        FinalReport(),  # after the checkpoint writer has landed best.pt
        TestSetReport(),  # with the weights FinalReport settled on
        TemperatureScaling(),  # reuses FinalReport's validation logits; before the summary has it
        SummaryWriter(),
        *([TensorBoardLogger()] if config.tensorboard else []),  # its hparams carry the summary
        EventPublisher(),
    ]
    if config.early_stopping:
        callbacks.append(EarlyStoppingCallback(
            monitor=config.monitor, min_delta=config.min_delta, patience=config.patience,
            baseline=config.baseline, start_from_epoch=config.start_from_epoch))
    return callbacks
