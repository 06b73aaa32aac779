"""What an exported model's files are called (no torch here: the window names them before it loads torch)."""

from __future__ import annotations

from pathlib import Path

FILE_SUFFIXES = {"pt": ".pt", "safetensors": ".safetensors", "torchscript": ".torchscript.pt",
                 "onnx": ".onnx"}


def metadata_path_for(path: str | Path) -> Path:
    """The metadata file written beside an exported model: its full file name plus ``.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")
