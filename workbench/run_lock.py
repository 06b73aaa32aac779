"""One writer per run folder: an OS file lock held while a process trains into it.

The lock is ``fcntl.flock`` (``msvcrt.locking`` on Windows) on ``RUN/.lock``: the operating
system releases it when the process ends, however it ends, so a killed run never leaves a stale
lock behind. The file itself stays and says who held it last, for the refusal message.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

LOCK_NAME = ".lock"


class RunFolderBusy(RuntimeError):
    """Another process is training into this run folder; the message names it."""


class RunLock:
    def __init__(self, path: Path, fd: int):
        self.path, self._fd = path, fd

    def record_holder(self) -> None:
        """Write this process into the lock file, for another process's refusal message. Kept
        apart from locking: a resume that is then refused must leave the folder as it was."""
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __del__(self):
        self.release()


def lock_run_folder(folder: str | Path) -> RunLock:
    """Take the run folder's lock, or raise :class:`RunFolderBusy` naming the holder."""
    path = Path(folder) / LOCK_NAME
    lock = try_lock_file(path)
    if lock is None:
        raise RunFolderBusy(
            f"Run folder {folder} is in use by another Workbench process{_holder(path)}; wait for "
            "that run to end (or stop it), then try again.")
    return lock


def try_lock_file(path: str | Path) -> RunLock | None:
    """The same OS lock on any file (created if missing): None when another process holds it."""
    path = Path(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        os.close(fd)
        return None
    return RunLock(path, fd)


def wait_for_lock(path: str | Path, poll_seconds: float = 0.2) -> RunLock:
    """:func:`try_lock_file` until it succeeds (another process's lock goes when it ends or dies).
    Polling rather than a blocking call: it works alike on every platform and on Windows, whose
    blocking lock gives up after ten seconds."""
    while (lock := try_lock_file(path)) is None:
        time.sleep(poll_seconds)
    return lock


def _holder(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return f" (process {int(data['pid'])} on {str(data['host'])[:100]})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""
