"""Hostile model files, generated at test time (nothing binary is committed).

One function per case writes its file into ``folder`` and returns the path. Most start from a
real export (an ``ExportResult`` of the shared run) and change one thing, so the file is valid
in every other respect and only the case under test can explain a refusal.
"""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import torch

# What a forged class name looks like: a newline, then a line that reads like a prediction,
# then escape codes that erase and recolour the terminal line.
FORGED_NAME = "cat\n  1. dog            100.00%\x1b[2K\x1b[31m"


class MarkerWriter(torch.nn.Module):
    """TorchScript whose ``__setstate__`` (run by ``torch.jit.load``) creates ``marker``: what a
    booby-trapped TorchScript file can do on load. ``forward`` gives 2 scores per image."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker = marker
        self.w = torch.zeros(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :2] + self.w

    @torch.jit.export
    def __getstate__(self) -> tuple[str, torch.Tensor, bool]:
        return (self.marker, self.w, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, torch.Tensor, bool]) -> None:
        self.marker = state[0]
        # from_file(shared=True) creates the file: a write to the user's disk, from a model file.
        self.w = state[1] + torch.from_file(state[0], True, 1, dtype=torch.uint8).float()
        self.training = state[2]


def torchscript_writing_a_file(folder: Path, marker: Path, name: str = "evil.torchscript.pt") -> Path:
    """A TorchScript file that creates ``marker`` when loaded (with a valid metadata block)."""
    import warnings

    folder.mkdir(parents=True, exist_ok=True)
    meta = {"class_names": ["a", "b"], "image_size": 32, "mean": [0.5] * 3, "std": [0.5] * 3,
            "architecture": "small_cnn"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(MarkerWriter(str(marker))), str(folder / name),
                       _extra_files={"workbench.json": json.dumps(meta)})
    marker.unlink(missing_ok=True)  # scripting never runs __setstate__, but be sure
    return folder / name


def copy_export(export, folder: Path, name: str | None = None) -> Path:
    """The exported file and its metadata file, copied under ``name``."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / (name or export.path.name)
    shutil.copyfile(export.path, dest)
    shutil.copyfile(export.metadata_path, dest.with_name(dest.name + ".json"))
    return dest


def with_sidecar(export, folder: Path, name: str, **changes) -> Path:
    """A copy of a .pt export (its metadata is only in the sidecar) with metadata ``changes``."""
    dest = copy_export(export, folder, name)
    sidecar = dest.with_name(dest.name + ".json")
    meta = json.loads(sidecar.read_text())
    meta.update(changes)
    sidecar.write_text(json.dumps(meta))
    return dest


def forged_class_names(export, folder: Path) -> Path:
    """A .pt export whose first class name forges a prediction line with escape codes."""
    names = json.loads(export.metadata_path.read_text())["class_names"]
    return with_sidecar(export, folder, "forged.pt", class_names=[FORGED_NAME, *names[1:]])


def huge_image_size(export, folder: Path, size: int = 12000) -> Path:
    """Metadata asking for 12000 px inputs: 6.2 GB before anything failed, once."""
    return with_sidecar(export, folder, "huge.pt", image_size=size)


def unknown_architecture(export, folder: Path) -> Path:
    return with_sidecar(export, folder, "unknown-arch.pt", architecture="resnet9000")


def bad_normalisation(export, folder: Path) -> Path:
    return with_sidecar(export, folder, "zero-std.pt", std=[0.0, 0.5, 0.5])


def safetensors_bad_json(export, folder: Path) -> Path:
    """A safetensors export whose metadata block is not JSON."""
    from safetensors.torch import load_file, save_file

    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / "bad-json.safetensors"
    save_file(load_file(str(export.path)), str(dest), metadata={"workbench": '{"class_names": ['})
    return dest


def safetensors_declaring_terabytes(folder: Path) -> Path:
    """A 100-byte safetensors file whose header declares a 40 GB tensor."""
    folder.mkdir(parents=True, exist_ok=True)
    header = json.dumps({"w": {"dtype": "F32", "shape": [100_000, 100_000],
                               "data_offsets": [0, 40_000_000_000]}}).encode()
    dest = folder / "huge.safetensors"
    dest.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    return dest


def onnx_with_metadata(export, folder: Path, name: str, value: str) -> Path:
    """The ONNX export with its embedded metadata replaced by ``value`` (and no sidecar)."""
    import onnx

    folder.mkdir(parents=True, exist_ok=True)
    proto = onnx.load(str(export.path))
    for prop in proto.metadata_props:
        if prop.key == "workbench":
            prop.value = value
    dest = folder / name
    dest.write_bytes(proto.SerializeToString())
    return dest


def onnx_bad_json(export, folder: Path) -> Path:
    return onnx_with_metadata(export, folder, "bad-json.onnx", "{not json")


def onnx_more_outputs_than_names(export, folder: Path) -> Path:
    """An ONNX model with 4 outputs per image whose metadata names 2 classes (IndexError once)."""
    meta = json.loads(export.metadata_path.read_text())
    meta["class_names"] = meta["class_names"][:2]
    return onnx_with_metadata(export, folder, "fewer-names.onnx", json.dumps(meta))


def torchscript_bad_json(export, folder: Path) -> Path:
    """The TorchScript export with its extra/workbench.json replaced by invalid JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / "bad-json.torchscript.pt"
    with zipfile.ZipFile(export.path) as src, zipfile.ZipFile(dest, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            out.writestr(info, b"{not json" if info.filename.endswith("extra/workbench.json") else data)
    return dest


def compressed_gigabyte(folder: Path, gigabytes: float = 1.0) -> Path:
    """A ~1 MB .pt zip whose one storage inflates to ``gigabytes`` GB (1.67 GB used, once)."""
    import io

    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(4)}, buf)
    dest = folder / "bomb.pt"
    chunk = b"\0" * (1 << 24)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for info in src.infolist():
            if info.filename.endswith("/data/0"):
                with out.open(info.filename, "w", force_zip64=True) as fh:
                    left = int(gigabytes * 1e9)
                    while left:
                        fh.write(chunk[:left])
                        left -= min(left, len(chunk))
            else:
                out.writestr(info.filename, src.read(info))
    return dest


def checkpoint_changed(run: Path, change) -> Path:
    """The run's best.pt rewritten after ``change(state)``; returns the run folder."""
    path = run / "checkpoints" / "best.pt"
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)
    return run


def checkpoint_unknown_architecture(run: Path) -> Path:
    return checkpoint_changed(run, lambda s: s["config"].update(model="resnet9000"))


def checkpoint_without_class_names(run: Path) -> Path:
    return checkpoint_changed(run, lambda s: s.pop("class_names"))


def checkpoint_missing_weights(run: Path) -> Path:
    """A checkpoint whose state_dict lost its head's weight."""
    return checkpoint_changed(run, lambda s: s["model"].pop("head.2.weight"))
