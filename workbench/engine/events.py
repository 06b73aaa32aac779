"""Events the training loop emits. Payloads are plain values (numbers, strings, lists, dicts),
so subscribers on other threads or in other processes (JSON lines) can use them as they are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RUN_START = "run_start"
CACHE_PROGRESS = "cache_progress"
EPOCH_START = "epoch_start"
BATCH_END = "batch_end"
EPOCH_END = "epoch_end"
CHECKPOINT_SAVED = "checkpoint_saved"
EARLY_STOP = "early_stop"
LOG = "log"
RUN_END = "run_end"
ERROR = "error"


@dataclass
class Event:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **self.data}


Subscriber = Callable[[Event], None]


class EventBus:
    """Delivers events to subscribers in the order they subscribed."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Add ``fn``; returns a function that removes it."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def emit(self, kind: str, **data: Any) -> Event:
        event = Event(kind, data)
        for fn in list(self._subscribers):
            fn(event)
        return event
