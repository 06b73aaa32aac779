"""What a model file may make Workbench do before it is trusted: limits checked before allocating.

A model file is input like any other. Its metadata sets the input size (an ``image_size`` of
12000 took 6.2 GB before anything failed) and the class count (the size of the head built for
it); its archive declares how much memory its tensors need (a 0.97 MB zip held a 1 GB tensor).
Both are checked here first, so a hostile file costs a refusal, not the machine's memory.

Metadata must describe a model this Workbench could have trained: the image size and the
architecture are checked by :meth:`TrainConfig.problems` itself (so the ranges are the
training form's, not a copy of them).
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
from pathlib import Path

from workbench.models import WeightsError

# The largest model Workbench trains (vit_b_16, ~86 M parameters at 1024 px) with AdamW's two
# moment buffers is about 1.1 GB as a checkpoint; an export is a third of that. 4 GiB leaves
# room for a 100 000-class head on top and still refuses what would exhaust a laptop.
MAX_MODEL_BYTES = 4 * 1024**3
MAX_CLASSES = 100_000  # a folder per class: far more than any dataset Workbench is used with
MAX_CLASS_NAME_CHARS = 1_000
MAX_METADATA_CHARS = 16 * 1024**2  # class names and a few numbers; safetensors caps its header at 100 MB
# Normalisation is applied to pixels scaled to 0..1: a mean outside that range or a std near zero
# is not a normalisation any training produced, and std 0 divides by zero.
MEAN_RANGE = (0.0, 1.0)
STD_RANGE = (1e-3, 1.0)


def metadata_problems(class_names: list[str], image_size: int, mean: list[float], std: list[float],
                      architecture: str) -> list[str]:
    """Every reason these values cannot describe a Workbench model (empty when they can)."""
    from workbench.config import TrainConfig

    out: list[str] = []
    if not class_names:
        out.append("it names no classes")
    elif len(class_names) > MAX_CLASSES:
        out.append(f"it names {len(class_names)} classes, more than the {MAX_CLASSES} Workbench allows")
    elif len(set(class_names)) != len(class_names):
        out.append("its class names repeat")
    elif max(len(name) for name in class_names) > MAX_CLASS_NAME_CHARS:
        out.append(f"a class name is longer than {MAX_CLASS_NAME_CHARS} characters")
    # The training settings' own checks: image size range, known architecture, its constraints.
    # Every other setting keeps its (valid) default, so each problem is about these two.
    out.extend(TrainConfig(model=architecture, image_size=image_size).problems())
    for label, values, (low, high) in (("mean", mean, MEAN_RANGE), ("std", std, STD_RANGE)):
        if len(values) != 3:
            out.append(f"normalisation {label} needs 3 values (R, G, B), got {len(values)}")
        elif not all(math.isfinite(v) and low <= v <= high for v in values):
            out.append(f"normalisation {label} must be 3 numbers between {low:g} and {high:g}, got "
                       f"{[float(v) for v in values]}")
    return out


def parse_metadata_json(text: str | bytes, source: str | Path) -> dict:
    """The JSON object of a metadata block (safetensors header, ONNX property, TorchScript extra
    file, sidecar), or a WeightsError saying why it is not one."""
    if len(text) > MAX_METADATA_CHARS:
        raise WeightsError(f"The model metadata of {source} is too large ({len(text)} bytes; "
                           f"at most {MAX_METADATA_CHARS})")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting thousands deep
        detail = exc if isinstance(exc, ValueError) else "nested too deeply"
        raise WeightsError(f"The model metadata of {source} is not valid JSON ({detail})") from None
    if not isinstance(data, dict):
        raise WeightsError(f"The model metadata of {source} must be a JSON object, "
                           f"not {type(data).__name__}")
    return data


# Declared sizes ---------------------------------------------------------------------------------
def check_declared_size(path: Path, fmt: str, limit: int | None = None) -> int:
    """Bytes of tensors ``path`` declares, checked against ``limit`` (default MAX_MODEL_BYTES)
    before anything is loaded; WeightsError if more."""
    limit = MAX_MODEL_BYTES if limit is None else limit
    if zipfile.is_zipfile(path):
        declared = _zip_declared_bytes(path)
    elif fmt == "safetensors":
        declared = _safetensors_declared_bytes(path)
    else:  # ONNX and legacy pickles: the weights are in the file itself
        declared = path.stat().st_size
    if declared > limit:
        raise WeightsError(
            f"Refused to load {path}: it declares {_size(declared)} of tensors, more than the "
            f"{_size(limit)} any Workbench model needs, so it is damaged or built to exhaust memory")
    return declared


def _zip_declared_bytes(path: Path) -> int:
    # torch.save and torch.jit.save write each storage as one zip member; torch allocates the
    # member's uncompressed size when it reads it. The zip's directory states those sizes, so
    # summing them bounds what loading can allocate, whatever the compression ratio.
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is a damaged archive ({exc})") from exc


_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
                "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def _safetensors_declared_bytes(path: Path) -> int:
    # The header lists every tensor's dtype, shape and byte range; loading allocates those.
    with open(path, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        if length > MAX_METADATA_CHARS:
            raise WeightsError(f"Refused to load {path}: its safetensors header declares {_size(length)}")
        header = parse_metadata_json(fh.read(length), path)
    total = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            count = math.prod(int(d) for d in entry["shape"])
            size = count * _DTYPE_BYTES.get(str(entry["dtype"]), 8)
            start, end = (int(v) for v in entry["data_offsets"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"Cannot read safetensors file {path}: the entry for tensor "
                               f"{name!r} is damaged ({exc!r})") from None
        total += max(size, end - start)
    return total


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
