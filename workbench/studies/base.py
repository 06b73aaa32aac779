"""What every study that drives trainers shares: its events, and stopping the trainer in hand."""

from __future__ import annotations

from workbench.engine import events as ev


class TrainerStudy:
    """A study runs trainers one after another (folds, trials); ``request_stop`` stops the one in
    training after its current batch and keeps the study from starting another."""

    def __init__(self) -> None:
        self.events = ev.EventBus()
        self._trainer = None  # the Trainer in training, if any
        self._stopped = False

    def subscribe(self, fn: ev.Subscriber):
        return self.events.subscribe(fn)

    def request_stop(self) -> None:
        self._stopped = True
        if self._trainer is not None:
            self._trainer.request_stop()

    def _log(self, message: str) -> None:
        self.events.emit(ev.Log(message=message))
