"""The one way views do work off the GUI thread: ``run_in_pool(fn, on_done, on_error, owner=…)``.

``fn`` runs on a QThreadPool; its return value (or the error's text) comes back to ``on_done``
(``on_error``) on the GUI thread through a queued Qt signal, so only plain values cross threads.
A :class:`LatestRequest` token drops the results of requests a newer one has replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


class LatestRequest:
    """Numbers a view's requests of one kind; ``next()`` returns a token that stays true only
    until the following ``next()`` (or ``cancel()``). Safe to read from pool threads: one int."""

    def __init__(self) -> None:
        self.number = 0

    def next(self) -> Callable[[], bool]:
        self.number += 1
        number = self.number
        return lambda: number == self.number

    def cancel(self) -> None:
        self.number += 1


class _Reply(QObject):
    """Lives on the GUI thread (made there, parented to the view), so the pool thread's emit is
    queued to it; when the view is deleted, so is this, and a late result goes nowhere."""

    done = Signal(object, object)  # result, error text (None on success)

    def __init__(self, owner: QObject, on_done, on_error, wanted):
        super().__init__(owner)
        self.on_done, self.on_error, self.wanted = on_done, on_error, wanted
        self.done.connect(self._deliver)

    @Slot(object, object)
    def _deliver(self, result, error) -> None:
        self.deleteLater()
        if self.wanted is not None and not self.wanted():
            return  # replaced by a newer request while it ran
        if error is None:
            self.on_done(result)
        elif self.on_error is not None:
            self.on_error(error)


class _Call(QRunnable):
    def __init__(self, fn, reply: _Reply, wanted):
        super().__init__()
        self.fn, self.reply, self.wanted = fn, reply, wanted

    def run(self) -> None:
        if self.wanted is not None and not self.wanted():
            return  # stale before it started: skip the work
        try:
            result, error = self.fn(), None
        except Exception as exc:  # noqa: BLE001 — reported to the view, never raised on a pool thread
            result, error = None, str(exc) or exc.__class__.__name__
        try:
            self.reply.done.emit(result, error)
        except RuntimeError:
            pass  # the view was closed while this ran; nobody is waiting for the result


def run_in_pool(fn: Callable[[], Any], on_done: Callable[[Any], None],
                on_error: Callable[[str], None] | None, *, owner: QObject,
                pool: QThreadPool | None = None, wanted: Callable[[], bool] | None = None) -> None:
    """Run ``fn()`` on ``pool`` (default: the global one); call ``on_done(result)`` or
    ``on_error(message)`` on the GUI thread, unless ``wanted()`` (e.g. a :class:`LatestRequest`
    token) has turned false or ``owner`` has been deleted. Call on the GUI thread."""
    reply = _Reply(owner, on_done, on_error, wanted)
    (pool or QThreadPool.globalInstance()).start(_Call(fn, reply, wanted))
