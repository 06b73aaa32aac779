"""The one interface of a training run as the window sees it, whichever way it trains.

A :class:`TrainingRun` is started, may be asked to stop, and can be waited for. On the GUI thread
it delivers the engine's typed events (``event``) and, once it has released its thread or its
processes, one :class:`RunOutcome` (``ended``). A failure is always an
:class:`~workbench.engine.events.Error` event too, so views have a single path for it.

A study (a learning-rate sweep, a cross-validation) is a run too: ``ends_with`` names the event
whose payload is its outcome (:class:`~workbench.engine.events.StudyEnd` for a cross-validation,
whose folds' own ``RunEnd`` events come before it), so the window starts, stops and follows every
kind of work through this one interface.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from workbench.engine import events as ev


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: its summary (finished, stopped, or ended by a NaN guard with its
    checkpoints), or the :class:`~workbench.engine.events.Error` it failed with."""

    summary: dict | None = None
    error: ev.Error | None = None
    ends_with: type[ev.Event] = ev.RunEnd  # what the summary is: a run's, a study's, a sweep's

    @property
    def failed(self) -> bool:
        return self.summary is None

    @property
    def message(self) -> str | None:
        """The failure's message for the user; None when the run produced a summary."""
        return self.error.message if self.error is not None and self.summary is None else None


class TrainingRun(QObject):
    """Base of the in-process and the multi-process runs; subclasses implement ``start``,
    ``request_stop`` and ``wait``, feed events to :meth:`_deliver` and call :meth:`_end` once."""

    event = Signal(object)  # an engine Event, on the GUI thread
    ended = Signal(object)  # the RunOutcome; the run's thread or processes are gone

    def __init__(self, parent: QObject | None = None, ends_with: type[ev.Event] = ev.RunEnd):
        super().__init__(parent)
        self.ends_with = ends_with
        self._summary: dict | None = None
        self._error: ev.Error | None = None
        self.outcome: RunOutcome | None = None

    def start(self) -> None:
        raise NotImplementedError

    def request_stop(self) -> None:
        """End after the current batch; the best checkpoint is kept."""
        raise NotImplementedError

    def wait(self, msecs: int) -> bool:
        """Block until the run is over (at most about ``msecs``); True when it is."""
        raise NotImplementedError

    @property
    def failed(self) -> bool:
        """An Error has arrived and no summary: what is left of the run is garbage."""
        return self._error is not None and self._summary is None

    @Slot(object)
    def _deliver(self, event: ev.Event) -> None:
        if isinstance(event, self.ends_with):
            self._summary = _payload(event)
        elif isinstance(event, ev.Error):
            self._error = event
        self.event.emit(event)

    def _end(self, fallback: ev.Error | None = None) -> None:
        """Emit ``ended``. Without a summary or an Error from the run, ``fallback`` (or a generic
        error) is delivered first as the Error event, so every failure reads the same."""
        if self.outcome is not None:
            return
        if self._summary is None and self._error is None:
            self._deliver(fallback or ev.Error(message="The run ended without a result.",
                                               type="NoResult"))
        self.outcome = RunOutcome(self._summary, None if self._summary is not None else self._error,
                                  self.ends_with)
        self.ended.emit(self.outcome)


def _payload(event: ev.Event) -> dict:
    """The outcome an ending event carries: a summary, or a sweep's result."""
    return event.result if isinstance(event, ev.LRFindEnd) else event.summary
