"""Checkpoints: written atomically, read back with ``weights_only=True``."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from workbench.models import WeightsError
from workbench.runs import atomic_write_bytes


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Serialise ``state`` fully in memory, then write it with a temp file and rename.

    A kill at any moment leaves the previous checkpoint or the new one, never a torn file.
    """
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


class CheckpointError(WeightsError):
    """A checkpoint file is damaged or not a checkpoint; the message names the file."""


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint without running pickled code (tensors and plain values only)."""
    try:
        return torch.load(Path(path), map_location=map_location, weights_only=True)
    except (OSError, EOFError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise
        detail = str(exc).split(". ")[0].splitlines()[0].rstrip(".")
        raise CheckpointError(f"Cannot read checkpoint {path}: the file is damaged, is not a Workbench "
                              f"checkpoint, or holds code, which is refused ({detail}).") from exc
