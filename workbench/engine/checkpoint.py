"""Checkpoints: written atomically, read back with ``weights_only=True``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from workbench.runs import atomic_write_bytes


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Serialise ``state`` fully in memory, then write it with a temp file and rename.

    A kill at any moment leaves the previous checkpoint or the new one, never a torn file.
    """
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint without running pickled code (tensors and plain values only)."""
    return torch.load(Path(path), map_location=map_location, weights_only=True)
