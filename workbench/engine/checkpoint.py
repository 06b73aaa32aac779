"""Checkpoints: written atomically, read back with ``weights_only=True``."""

from __future__ import annotations

import io
import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from workbench.models import WeightsError
from workbench.runs import atomic_write_bytes


def serialise_checkpoint(state: dict[str, Any]) -> memoryview:
    """``state`` as the bytes ``torch.save`` writes: a snapshot the caller may change right after."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getbuffer()


def write_checkpoint_files(paths: Sequence[Path], data: bytes | memoryview) -> None:
    """Put the same checkpoint bytes at every path of ``paths``, in order, each atomically.

    The first is written through a fsynced temp file and a rename; the others become hard links
    to it (also renamed into place), so best.pt and last.pt of the same epoch cost one write.
    Where the file system has no hard links the bytes are written again. Later replacing one
    name (a rename onto it) leaves the other names' file untouched.
    """
    first, *others = [Path(p) for p in paths]
    atomic_write_bytes(first, data)
    for path in others:
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            exc.filename = str(path)  # name the checkpoint, as atomic_write_bytes does
            raise
        os.close(fd)
        os.unlink(tmp)  # mkstemp reserved a unique name; link needs it free
        try:
            os.link(first, tmp)
        except OSError:
            atomic_write_bytes(path, data)
            continue
        try:
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                exc.filename = str(path)
            raise


class CheckpointWriter:
    """Saves checkpoints without making training wait for the disk.

    ``save`` serialises the state on the caller's thread (the bytes are the snapshot: training may
    change the weights as soon as it returns) and a writer thread puts them on disk with
    :func:`write_checkpoint_files`. One save is in flight at most: the next ``save`` waits for
    the previous one. A kill at any moment leaves every checkpoint file either as it was or
    complete (plus, at worst, a stale ``.tmp`` file that resume removes). A failed write is
    raised on the training thread by the next ``save``, ``completed`` or ``wait``.

    ``then`` runs on the writer thread once the checkpoint files are on disk: the trainer writes
    metrics.csv there, so the file never lists an epoch whose checkpoint has not landed.
    """

    def __init__(self, background: bool = True):
        self.background = background
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._done: list[Any] = []
        self._lock = threading.Lock()

    def save(self, paths: Sequence[Path], state: dict[str, Any], tag: Any = None,
             then: Callable[[], None] | None = None) -> None:
        """Write ``state`` to every path of ``paths`` (in order), then call ``then``; ``tag`` is
        reported when both are done."""
        self.wait_idle()
        data = serialise_checkpoint(state)
        if not self.background:
            self._write(list(paths), data, tag, then)
            self._raise_error()
            return
        # Not a daemon: an interpreter shutting down waits for the checkpoint to land.
        self._thread = threading.Thread(target=self._write, args=(list(paths), data, tag, then),
                                        name="workbench-checkpoint-writer")
        self._thread.start()

    def completed(self) -> list[Any]:
        """Tags of the saves finished since the last call (never blocks)."""
        self._raise_error()
        with self._lock:
            done, self._done = self._done, []
        return done

    def wait(self) -> list[Any]:
        """Wait for the save in flight, then return :meth:`completed`."""
        self.wait_idle()
        return self.completed()

    def wait_idle(self) -> None:
        """Wait for the save in flight (if any); raise its error."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._raise_error()

    def _write(self, paths: list[Path], data: memoryview, tag: Any, then: Callable[[], None] | None) -> None:
        try:
            write_checkpoint_files(paths, data)
            if then is not None:
                then()
        except BaseException as exc:  # noqa: BLE001 — handed to the training thread
            self._error = exc
            return
        with self._lock:
            self._done.append(tag)

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


class CheckpointError(WeightsError):
    """A checkpoint file is damaged or not a checkpoint; the message names the file."""


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint without running pickled code (tensors and plain values only)."""
    try:
        return torch.load(Path(path), map_location=map_location, weights_only=True)
    except (OSError, EOFError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise
        # The first sentence of torch's message; an empty file gives an EOFError with no message.
        detail = (str(exc).split(". ")[0].splitlines() or ["the file is empty"])[0].rstrip(".")
        raise CheckpointError(f"Cannot read checkpoint {path}: the file is damaged, is not a Workbench "
                              f"checkpoint, or holds code, which is refused ({detail}).") from exc
