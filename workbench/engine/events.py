"""Events the training loop emits. Payloads are plain values (numbers, strings, lists, dicts),
so subscribers on other threads or in other processes (JSON lines) can use them as they are."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

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


class JsonLinesWriter:
    """A subscriber writing each event as one JSON line (``{"event": kind, ...}``), flushed at
    once, so another process (the window running ``torchrun``) can follow the run live."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def __call__(self, event: Event) -> None:
        self.stream.write(json.dumps(event.to_dict(), default=str) + "\n")
        self.stream.flush()


def parse_event_line(line: str) -> Event | None:
    """The event of one line written by :class:`JsonLinesWriter`; None for any other line."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return None
    kind = data.pop("event")
    return Event(kind, data)


def throttled_progress(report: Callable[[int, int], None],
                       interval: float = 0.05) -> Callable[[int, int], None]:
    """``report(done, total)`` at most once per ``interval`` seconds, and always when done == total.

    Decoding reports per handful of images; a window handles every queued signal in one go, and
    a burst of a hundred progress updates stalled it for ~100 ms. Twenty a second is plenty.
    """
    last = -float("inf")

    def maybe_report(done: int, total: int) -> None:
        nonlocal last
        now = time.perf_counter()
        if done >= total or now - last >= interval:
            last = now
            report(done, total)

    return maybe_report
