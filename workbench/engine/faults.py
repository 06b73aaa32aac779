"""Faults during a run that are not bugs: out of memory, a full disk, a run folder that became
unwritable. Each becomes a message for the user, a machine-readable reason and what to change.

The training loop, the command line and the window all call :func:`classify`, so the three say
the same thing; anything it does not recognise is a genuine error and is reported as one.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT_OF_MEMORY = "out_of_memory"
DISK_FULL = "disk_full"
NOT_WRITABLE = "not_writable"

_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
_NOT_WRITABLE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR}
# Allocator failures that torch reports as a plain RuntimeError (CPU, Apple MPS).
_MEMORY_PHRASES = ("out of memory", "can't allocate memory", "cannot allocate memory")


@dataclass
class Fault:
    """What went wrong, for people (``message``, ``cli_hint``) and programs (``reason``, ``details``)."""

    reason: str
    message: str
    cli_hint: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def event_data(self) -> dict[str, Any]:
        """The payload of the engine's ``error`` event: plain values only."""
        return {"reason": self.reason, "message": self.message, "cli_hint": self.cli_hint, **self.details}


class RunFault(RuntimeError):
    """A run ended by a :class:`Fault`; ``str()`` is the user message, ``.fault`` the rest."""

    def __init__(self, fault: Fault):
        super().__init__(fault.message)
        self.fault = fault


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(p in str(exc).lower() for p in _MEMORY_PHRASES)


def release_memory() -> None:
    """Hand memory of a failed run back (garbage, cached CUDA blocks) so a retry starts clean."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def classify(exc: BaseException, *, config=None, run_dir: str | Path | None = None,
             device: str | None = None, epochs_done: int = 0) -> Fault | None:
    """The :class:`Fault` behind ``exc``, or None when it is not one of the known faults.

    ``config`` (a TrainConfig), ``run_dir``, ``device`` and ``epochs_done`` make the advice
    concrete: the batch size to try, the folder that keeps the finished epochs.
    """
    if isinstance(exc, RunFault):
        return exc.fault
    if is_out_of_memory(exc):
        return _out_of_memory(config, run_dir, device, epochs_done)
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS | _NOT_WRITABLE_ERRNOS:
        return _write_failed(exc, run_dir, epochs_done)
    return None


def _kept(run_dir, epochs_done: int) -> str:
    if run_dir is None:
        return ""
    if epochs_done:
        return (f" The checkpoints of the {epochs_done} finished epoch{'s' if epochs_done != 1 else ''} "
                f"are kept in {run_dir}.")
    return f" No epoch had finished, so there is no checkpoint yet in {run_dir}."


def _out_of_memory(config, run_dir, device, epochs_done: int) -> Fault:
    where = f" on {device}" if device else ""
    if config is None:
        return Fault(OUT_OF_MEMORY, f"Out of memory{where}. Lower the batch size or the image size.",
                     "try a smaller --batch-size or --image-size")
    batch, size = config.batch_size, config.image_size
    smaller = max(1, batch // 2)
    lower = [f"the batch size (now {batch}; try {smaller})", f"the image size (now {size} px)"]
    flags = [f"--batch-size {smaller}", f"a smaller --image-size than {size}"]
    if not config.mixed_precision and (device or "cuda").startswith("cuda"):
        lower.append("memory use by turning on mixed precision")
        flags.append("--mixed-precision")
    message = (f"Out of memory{where} while training at batch size {batch} and image size {size} px. "
               f"Lower {', '.join(lower[:-1])} or {lower[-1]}.{_kept(run_dir, epochs_done)}")
    return Fault(OUT_OF_MEMORY, message, "run again with " + ", or ".join(flags),
                 {"batch_size": batch, "suggested_batch_size": smaller, "image_size": size,
                  "mixed_precision": bool(config.mixed_precision)})


def _write_failed(exc: OSError, run_dir, epochs_done: int) -> Fault:
    target = _shown_path(exc.filename, run_dir) or "the run folder"
    resume = f"workbench train --resume {run_dir}" if run_dir else ""
    intact = " The checkpoints written before are intact." if epochs_done else ""
    if exc.errno in _DISK_FULL_ERRNOS:
        message = f"The disk is full: could not write {target}.{intact} Free some space"
        reason = DISK_FULL
    else:
        message = (f"Cannot write {target}: {exc.strerror or 'permission denied'}.{intact} Make the "
                   "run folder writable (or choose another runs folder)")
        reason = NOT_WRITABLE
    message += f", then continue the run with `{resume}`." if resume and epochs_done else "."
    return Fault(reason, message, details={"path": str(exc.filename) if exc.filename else None,
                                           "errno": exc.errno})


def _shown_path(filename, run_dir) -> str:
    """``filename`` relative to the run folder when inside it (shorter, and says which file)."""
    if not filename:
        return ""
    if run_dir is None:
        return str(filename)
    try:
        relative = os.path.relpath(filename, run_dir)
    except ValueError:  # another drive on Windows
        return str(filename)
    return str(filename) if relative.startswith("..") else relative
