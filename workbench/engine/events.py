"""Events the training engine emits: one dataclass per kind, with its payload fields.

Payloads are plain values (numbers, strings, lists, dicts), so subscribers on other threads or in
other processes (JSON lines, see :class:`JsonLinesWriter`) can use them as they are. This module is
the only place that spells an event kind: everyone else uses the classes (``isinstance(e,
EpochEnd)``) or their ``kind`` attribute.

An event reads like a dict too (``event.data["epoch"]``) because the JSON lines and the run files
are dicts of the same names; the fields here are their one definition.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TextIO

# The columns of metrics.csv, in order, and of every epoch's entry in a run's history.
METRIC_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")


@dataclass(frozen=True)
class Event:
    """Base of every event; ``kind`` names it on the wire (JSON lines)."""

    kind: ClassVar[str] = ""

    @property
    def data(self) -> dict[str, Any]:
        """The payload as a dict of plain values (what a JSON line holds besides ``event``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **self.data}


@dataclass(frozen=True)
class RunStart(Event):
    """The run is set up (data decoded, model built) and its first epoch is about to start."""

    kind: ClassVar[str] = "run_start"
    run_dir: str
    model: str
    class_names: list[str]
    n_train: int
    n_val: int
    epochs: int
    batch_size: int
    iterations_per_epoch: int
    start_epoch: int  # 1-based; > 1 when resuming
    device: str
    device_name: str
    cached: bool
    parameters: int
    history: list[dict] = field(default_factory=list)  # epochs run before a resume
    skipped: list[dict] = field(default_factory=list)  # files the scan or the decoder skipped


@dataclass(frozen=True)
class CacheProgress(Event):
    kind: ClassVar[str] = "cache_progress"
    done: int
    total: int


@dataclass(frozen=True)
class EpochStart(Event):
    kind: ClassVar[str] = "epoch_start"
    epoch: int
    epochs: int
    iterations: int


@dataclass(frozen=True)
class BatchEnd(Event):
    kind: ClassVar[str] = "batch_end"
    epoch: int
    iteration: int
    iterations: int
    loss: float
    lr: float
    images_per_sec: float
    gpu_memory_mb: float | None = None


@dataclass(frozen=True)
class EpochEnd(Event):
    """One finished epoch: its metrics row (:data:`METRIC_COLUMNS` plus speed) and the best epoch."""

    kind: ClassVar[str] = "epoch_end"
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float | None  # None without a validation split
    val_acc: float | None
    lr: float
    seconds: float
    images_per_sec: float
    best_epoch: int | None
    epochs: int
    train_images: int | None = None  # images trained on and scored in this epoch
    val_images: int | None = None
    lr_first_group: float | None = None  # the first layer group's rate, with layer-wise rates


@dataclass(frozen=True)
class CheckpointSaved(Event):
    kind: ClassVar[str] = "checkpoint_saved"
    which: str  # "best" or "last"
    epoch: int
    path: str


@dataclass(frozen=True)
class EarlyStop(Event):
    kind: ClassVar[str] = "early_stop"
    epoch: int
    reason: str


@dataclass(frozen=True)
class Log(Event):
    kind: ClassVar[str] = "log"
    message: str


@dataclass(frozen=True)
class RunEnd(Event):
    """The run ended (finished, stopped, or failed with its checkpoints kept): its summary.json."""

    kind: ClassVar[str] = "run_end"
    summary: dict

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.summary)  # on the wire the summary's keys sit beside "event"


@dataclass(frozen=True)
class Error(Event):
    """The run failed; ``message`` is meant for the user. ``reason`` and the details come from
    :class:`workbench.engine.faults.Fault` when the failure is a known one (out of memory…)."""

    kind: ClassVar[str] = "error"
    message: str
    type: str
    reason: str | None = None
    cli_hint: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def data(self) -> dict[str, Any]:
        base = {"message": self.message, "type": self.type}
        if self.reason is not None:
            base.update(reason=self.reason, cli_hint=self.cli_hint, **self.details)
        return base


# Studies (runs of runs): a cross-validation announces each fold; the fold's own run events come
# in between, as for any run.
@dataclass(frozen=True)
class FoldStart(Event):
    kind: ClassVar[str] = "fold_start"
    fold: int  # 1-based
    folds: int
    run_dir: str


@dataclass(frozen=True)
class FoldEnd(Event):
    kind: ClassVar[str] = "fold_end"
    fold: int
    folds: int
    run_dir: str
    status: str
    history: list[dict] = field(default_factory=list)


# A search announces itself (with the trials its study already holds, when resumed) and each
# trial; the trial's own run events come in between.
@dataclass(frozen=True)
class SearchStart(Event):
    kind: ClassVar[str] = "search_start"
    out: str
    trials: int  # complete or pruned trials asked for
    monitor: str
    direction: str  # "minimize" or "maximize"
    config: dict  # the fixed settings (TrainConfig.to_dict())
    storage: str
    earlier: list[dict] = field(default_factory=list)  # the study's trials so far (summary rows)


@dataclass(frozen=True)
class TrialStart(Event):
    kind: ClassVar[str] = "trial_start"
    number: int  # Optuna's trial number (0-based)
    params: dict
    run_dir: str
    continues: bool = False  # a trial stopped earlier, continued from its checkpoint


@dataclass(frozen=True)
class TrialEnd(Event):
    """A trial ended: ``state`` complete, pruned, failed or stopped (by the user; resume continues it)."""

    kind: ClassVar[str] = "trial_end"
    number: int
    state: str
    value: float | None
    params: dict
    run_dir: str
    epochs: int  # epochs the trial's run has trained
    seconds: float  # its training time, earlier sessions included
    error: str | None = None


@dataclass(frozen=True)
class StudyEnd(Event):
    """A study finished (or stopped, ``summary["complete"]`` False): its summary file's content."""

    kind: ClassVar[str] = "study_end"
    summary: dict


@dataclass(frozen=True)
class LRFindEnd(Event):
    """A learning-rate sweep finished: its result (``LRFindResult.to_dict()``, with ``out``)."""

    kind: ClassVar[str] = "lr_find_end"
    result: dict


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls for cls in (RunStart, CacheProgress, EpochStart, BatchEnd, EpochEnd,
                              CheckpointSaved, EarlyStop, Log, RunEnd, Error,
                              FoldStart, FoldEnd, SearchStart, TrialStart, TrialEnd, StudyEnd,
                              LRFindEnd)}


def event_from_dict(data: dict[str, Any]) -> Event | None:
    """The event a :meth:`Event.to_dict` made; None for an unknown kind or missing fields."""
    data = dict(data)
    cls = EVENT_TYPES.get(data.pop("event", None))  # type: ignore[arg-type]
    if cls is None:
        return None
    if cls is RunEnd:
        return RunEnd(summary=data)
    if cls is Error:
        names = {"message", "type", "reason", "cli_hint"}
        try:
            return Error(**{k: data.pop(k) for k in list(data) if k in names}, details=data)
        except TypeError:
            return None
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError:
        return None


Subscriber = Callable[[Event], None]


class EventBus:
    """Delivers events to subscribers in the order they subscribed."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Add ``fn``; returns a function that removes it."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def emit(self, event: Event) -> Event:
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
    return event_from_dict(data)


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
