"""The callback protocol: every optional concern of a run is one object with hooks.

The loop (:mod:`workbench.engine.loop`) calls the hooks in this order, on every callback of its
ordered list (fastai's ``before_*/after_*``, Lightning's ``_call_callback_hooks``)::

    on_setup              the model, optimizer and data exist; a resumed run's state is not loaded yet
    on_run_start          the first epoch is next (a resumed run's state is loaded)
    for each epoch:   on_epoch_start
        for each batch:   on_step_end          right after the optimizer step (tensors; no host sync)
                          on_batch_end          with the batch's loss read back (in bursts on a GPU)
        on_validation_end  (stop here: the epoch is not recorded)
        on_epoch_end       (the epoch is in run.history)
    on_run_end            (also after a stop)      or   on_error   (the run raised)

A callback ends the run through ``run.stop(status, reason)``; the loop checks after every hook
and asks nothing else. A callback with state names it with ``state_key``: the checkpoint holds
``state_dict()`` under that key and resume hands it back through ``load_state_dict``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.engine import events as ev
    from workbench.engine.faults import Fault
    from workbench.engine.trainer import Trainer

HOOKS = ("on_setup", "on_run_start", "on_epoch_start", "on_step_end", "on_batch_end", "on_validation_end",
         "on_epoch_end", "on_run_end", "on_error")


class Callback:
    """Base class: every hook does nothing. Epoch numbers are 1-based, as users count them."""

    state_key: str | None = None  # where this callback's state lives in a checkpoint

    def on_setup(self, run: Trainer) -> None: ...

    def on_run_start(self, run: Trainer) -> None: ...

    def on_epoch_start(self, run: Trainer, epoch: int) -> None: ...

    def on_step_end(self, run: Trainer) -> None: ...

    def on_batch_end(self, run: Trainer, batch: ev.BatchEnd) -> None: ...

    def on_validation_end(self, run: Trainer, logs: dict[str, float]) -> None: ...

    def on_epoch_end(self, run: Trainer, logs: dict[str, float]) -> None: ...

    def on_run_end(self, run: Trainer) -> None: ...

    def on_error(self, run: Trainer, exc: BaseException, fault: Fault | None) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Take this callback's state out of a checkpoint (absent: keep the fresh state)."""
        if self.state_key is not None and self.state_key in checkpoint:
            self.load_state_dict(checkpoint[self.state_key])


class CallbackList:
    """The run's callbacks, in the order their hooks are called."""

    def __init__(self, callbacks: Iterable[Callback], reserved: Iterable[str] = ()):
        self.callbacks = list(callbacks)
        seen = set(reserved)
        for cb in self.callbacks:
            if cb.state_key is None:
                continue
            if cb.state_key in seen:
                raise ValueError(f"two checkpoint entries named {cb.state_key!r}")
            seen.add(cb.state_key)

    def __iter__(self):
        return iter(self.callbacks)

    def find(self, kind: type) -> Any:
        """The first callback of class ``kind``, or None."""
        return next((cb for cb in self.callbacks if isinstance(cb, kind)), None)

    def states(self) -> dict[str, Any]:
        return {cb.state_key: cb.state_dict() for cb in self.callbacks if cb.state_key is not None}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        for cb in self.callbacks:
            cb.load_checkpoint(checkpoint)
