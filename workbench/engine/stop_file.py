"""Stopping a run from another process by creating a file (works on every OS, through torchrun
and across machines' shared folders, unlike signals to a process group)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

POLL_SECONDS = 0.2


def watch_stop_file(path: str | Path, request_stop: Callable[[], None]) -> threading.Event:
    """Call ``request_stop`` once when ``path`` appears; returns an Event that ends the watch."""
    path, done = Path(path), threading.Event()

    def poll() -> None:
        while not done.is_set():
            if path.exists():  # checked at once too: a stop asked before the run started counts
                request_stop()
                return
            done.wait(POLL_SECONDS)

    threading.Thread(target=poll, name="stop-file-watch", daemon=True).start()
    return done
