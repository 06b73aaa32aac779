"""Saving trained weights from a run's checkpoints (plain state_dict or safetensors)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import torch

from workbench.engine.checkpoint import load_checkpoint
from workbench.runs import RunFolder, atomic_write_bytes

WEIGHT_FORMATS = {".pt": "PyTorch state_dict", ".safetensors": "safetensors"}


def save_weights(run_dir: str | Path, which: str, out_path: str | Path) -> Path:
    """Write the model weights of checkpoint ``which`` (best or last) of a run to ``out_path``.

    The format follows the suffix: ``.safetensors`` (with class names and input size in its
    metadata) or ``.pt`` (a plain state_dict, loadable with ``torch.load(weights_only=True)``).
    """
    out_path = Path(out_path)
    if out_path.suffix not in WEIGHT_FORMATS:
        raise ValueError(f"choose a .pt or .safetensors file name, not {out_path.name}")
    checkpoint = RunFolder(run_dir).checkpoint_path(which)
    if not checkpoint.exists():
        raise FileNotFoundError(f"{checkpoint} does not exist; the run has not finished an epoch yet")
    state = load_checkpoint(checkpoint)
    weights = {k: v.contiguous() for k, v in state["model"].items()}
    if out_path.suffix == ".safetensors":
        from safetensors.torch import save

        metadata = {"class_names": json.dumps(state["class_names"]), "model": state["config"]["model"],
                    "image_size": str(state["image_size"]), "epoch": str(state["epoch"])}
        atomic_write_bytes(out_path, save(weights, metadata=metadata))
    else:
        buf = io.BytesIO()
        torch.save(weights, buf)
        atomic_write_bytes(out_path, buf.getvalue())
    return out_path
