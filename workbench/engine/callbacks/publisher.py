"""Engine events for the outside world (the CLI, the window, JSON lines), from the loop's hooks."""

from __future__ import annotations

from workbench.engine import events as ev
from workbench.engine.callbacks.base import Callback
from workbench.engine.device import device_name
from workbench.models import count_parameters


class EventPublisher(Callback):
    """RunStart, EpochStart, BatchEnd, EpochEnd, RunEnd and Error. Sits after the callbacks whose
    results its payloads carry (the best epoch, the summary)."""

    def on_run_start(self, run) -> None:
        cfg, data = run.config, run.data
        run.emit(ev.RunStart(
            run_dir=str(run.run_folder.path), model=cfg.model, class_names=list(data.class_names),
            n_train=len(data.train), n_val=len(data.val) if data.val is not None else 0,
            epochs=cfg.epochs, batch_size=cfg.batch_size,
            iterations_per_epoch=run.iterations, start_epoch=run.start_epoch + 1,
            device=str(run.device), device_name=device_name(run.device), cached=not data.train.streaming,
            parameters=count_parameters(run.model), history=list(run.history),
            skipped=data.scan.to_dict()["skipped"]))

    def on_epoch_start(self, run, epoch: int) -> None:
        run.emit(ev.EpochStart(epoch=epoch, epochs=run.config.epochs, iterations=run.iterations))

    def on_batch_end(self, run, batch: ev.BatchEnd) -> None:
        run.emit(batch)

    def on_epoch_end(self, run, logs) -> None:
        run.emit(ev.EpochEnd(**logs, best_epoch=run.best.epoch, epochs=run.config.epochs))

    def on_run_end(self, run) -> None:
        run.emit(ev.RunEnd(summary=run.summary))

    def on_error(self, run, exc, fault) -> None:
        message = fault.message if fault else str(exc)
        if fault is None:
            run.emit(ev.Error(message=message, type=exc.__class__.__name__))
        else:
            run.emit(ev.Error(message=message, type=exc.__class__.__name__, reason=fault.reason,
                              cli_hint=fault.cli_hint, details=dict(fault.details)))
