"""Trained models on disk: which format a file is, what it was trained on, and loading it to run.

Formats (``workbench export`` writes them; ``workbench predict`` and the window read them):

    NAME.pt               plain state_dict (torch.load(weights_only=True) + our build_model)
    NAME.safetensors      the same tensors; metadata also in the safetensors header
    NAME.torchscript.pt   TorchScript program (torch.jit.load); metadata also in extra/workbench.json
    NAME.onnx             ONNX graph, dynamic batch axis; metadata also in metadata_props["workbench"]
    NAME.<ext>.json       metadata beside each file: class names in index order, input size,
                          normalisation mean/std, architecture, workbench version, source run

The format is recognised from the contents, not the suffix: a TorchScript archive and a
``torch.save`` file are both zips and are told apart by TorchScript's code/ entries. Nothing is
ever unpickled beyond ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import struct
import warnings
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.models import WeightsError, build_model, refusal_message, tensors_only
from workbench.runs import RunFolder, is_run_folder

METADATA_FORMAT = "workbench-model-1"
METADATA_KEY = "workbench"  # safetensors header key, ONNX metadata_props key, TorchScript extra file
TORCHSCRIPT_EXTRA = "workbench.json"
FILE_SUFFIXES = {"pt": ".pt", "safetensors": ".safetensors", "torchscript": ".torchscript.pt",
                 "onnx": ".onnx"}


@dataclass(frozen=True)
class ModelMetadata:
    """What a user needs to feed a model and read its output."""

    class_names: list[str]
    image_size: int
    mean: list[float]
    std: list[float]
    architecture: str
    workbench_version: str
    source_run: str
    checkpoint: str = ""
    epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"format": METADATA_FORMAT, **asdict(self)}
        data["input"] = (f"float32 RGB tensor [batch, 3, {self.image_size}, {self.image_size}]: pixels "
                         "scaled to 0..1, minus mean, divided by std (per channel), after a centre "
                         "square crop")
        data["output"] = "logits [batch, classes] in class_names order; softmax gives probabilities"
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | Path = "") -> ModelMetadata:
        try:
            meta = cls(
                class_names=[str(c) for c in data["class_names"]],
                image_size=int(data["image_size"]),
                mean=[float(v) for v in data["mean"]],
                std=[float(v) for v in data["std"]],
                architecture=str(data["architecture"]),
                workbench_version=str(data.get("workbench_version", "")),
                source_run=str(data.get("source_run", "")),
                checkpoint=str(data.get("checkpoint", "")),
                epoch=int(data["epoch"]) if data.get("epoch") is not None else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"The model metadata of {source} is incomplete or damaged ({exc!r})") from exc
        if not meta.class_names or len(meta.mean) != 3 or len(meta.std) != 3 or meta.image_size < 1:
            raise WeightsError(f"The model metadata of {source} is incomplete or damaged")
        return meta

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any], source_run: str | Path, checkpoint: str) -> ModelMetadata:
        """Metadata of a Workbench training checkpoint (checkpoints/best.pt or last.pt)."""
        mean, std = state["normalization"]
        return cls(class_names=list(state["class_names"]), image_size=int(state["image_size"]),
                   mean=[float(v) for v in mean], std=[float(v) for v in std],
                   architecture=state["config"]["model"],
                   workbench_version=str(state.get("workbench_version", "")),
                   source_run=str(source_run), checkpoint=checkpoint, epoch=state.get("epoch"))


def metadata_path_for(path: str | Path) -> Path:
    """The metadata file written beside an exported model: its full file name plus ``.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def detect_format(path: str | Path) -> str:
    """"run", "pt", "safetensors", "torchscript" or "onnx", from the contents of ``path``."""
    path = Path(path)
    if path.is_dir():
        if is_run_folder(path):
            return "run"
        raise WeightsError(f"{path} is a folder but not a Workbench run folder")
    if not path.is_file():
        raise WeightsError(f"{path} does not exist")
    with open(path, "rb") as fh:
        head = fh.read(9)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise WeightsError(f"{path} is a damaged archive ({exc})") from exc
        is_script = any("/code/" in n or n.endswith("/constants.pkl") for n in names)
        return "torchscript" if is_script else "pt"
    if _looks_like_safetensors(path, head):
        return "safetensors"
    if head[:1] == b"\x80":  # a pickle stream: torch.save's legacy format
        return "pt"
    if path.suffix.lower() == ".onnx" or _parses_as_onnx(path):
        return "onnx"
    raise WeightsError(f"{path} is not a model file Workbench knows (.pt state_dict or checkpoint, "
                       ".safetensors, TorchScript or .onnx)")


def _looks_like_safetensors(path: Path, head: bytes) -> bool:
    # 8-byte little-endian header length, then a JSON object of that length.
    if len(head) < 9 or head[8:9] != b"{":
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 0 < length <= path.stat().st_size - 8


def _parses_as_onnx(path: Path) -> bool:
    import onnx

    try:
        return len(onnx.load(str(path), load_external_data=False).graph.node) > 0
    except Exception:  # noqa: BLE001 — any parse failure means: not ONNX
        return False


class LoadedModel:
    """A model file loaded to run on the CPU: float32 NCHW batch in, logits out (numpy)."""

    def __init__(self, metadata: ModelMetadata, fmt: str, source: Path, run):
        self.metadata = metadata
        self.format = fmt
        self.source = source
        self._run = run

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._run(np.ascontiguousarray(batch, dtype=np.float32)), dtype=np.float32)


def load_model_file(path: str | Path, checkpoint: str = "best") -> LoadedModel:
    """Load a run folder (its ``checkpoint``), a checkpoint, or any exported file, ready to run."""
    path = Path(path).expanduser()
    fmt = detect_format(path)
    if fmt == "run":
        if checkpoint not in ("best", "last"):
            raise WeightsError(f"checkpoint must be best or last, not {checkpoint!r}")
        ckpt = RunFolder(path).checkpoint_path(checkpoint)
        if not ckpt.is_file():
            raise WeightsError(f"{path} has no {checkpoint} checkpoint yet (no epoch has finished)")
        return _load_torch_weights(ckpt, "pt", run_dir=path, checkpoint=checkpoint)
    if fmt in ("pt", "safetensors"):
        return _load_torch_weights(path, fmt)
    if fmt == "torchscript":
        return _load_torchscript(path)
    return _load_onnx(path)


def _load_torch_weights(path: Path, fmt: str, run_dir: Path | None = None,
                        checkpoint: str = "") -> LoadedModel:
    if fmt == "pt":
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 — refuse anything that is not plain tensors
            raise WeightsError(refusal_message(path, exc)) from exc
        if isinstance(data, dict) and isinstance(data.get("model"), dict) and "class_names" in data:
            run = run_dir or (path.parent.parent if path.parent.name == "checkpoints" else path.parent)
            meta = ModelMetadata.from_checkpoint(data, run, checkpoint or path.stem)
            state = data["model"]
        else:
            meta, state = _sidecar_metadata(path), tensors_only(data, path)
    else:
        from safetensors.torch import load_file  # by contents: the name may not end in .safetensors

        try:
            state = load_file(str(path))
        except Exception as exc:  # noqa: BLE001 — safetensors raises its own error types
            raise WeightsError(f"Cannot read safetensors file {path}: {exc}") from exc
        meta = _safetensors_metadata(path) or _sidecar_metadata(path)
    model = build_model(meta.architecture, len(meta.class_names), image_size=meta.image_size,
                        log=lambda _m: None)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"The weights in {path} do not fit a {meta.architecture} with "
                           f"{len(meta.class_names)} classes: {str(exc).splitlines()[0]}") from exc
    return LoadedModel(meta, "run" if run_dir else fmt, run_dir or path, _torch_runner(model.eval()))


def _load_torchscript(path: Path) -> LoadedModel:
    extra = {TORCHSCRIPT_EXTRA: ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated upstream
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except Exception as exc:  # noqa: BLE001 — a damaged or foreign archive
        raise WeightsError(f"Cannot load TorchScript model {path}: {exc}") from exc
    if extra[TORCHSCRIPT_EXTRA]:
        meta = ModelMetadata.from_dict(json.loads(extra[TORCHSCRIPT_EXTRA]), path)
    else:
        meta = _sidecar_metadata(path)
    return LoadedModel(meta, "torchscript", path, _torch_runner(module.eval()))


def _load_onnx(path: Path) -> LoadedModel:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 — onnxruntime raises its own exception types
        raise WeightsError(f"Cannot load ONNX model {path}: {exc}") from exc
    props = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY in props:
        meta = ModelMetadata.from_dict(json.loads(props[METADATA_KEY]), path)
    else:
        meta = _sidecar_metadata(path)
    input_name = session.get_inputs()[0].name
    return LoadedModel(meta, "onnx", path, lambda batch: session.run(None, {input_name: batch})[0])


def _torch_runner(module):
    def run(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(batch)).float().numpy()
    return run


def _sidecar_metadata(path: Path) -> ModelMetadata:
    sidecar = metadata_path_for(path)
    if not sidecar.is_file():
        raise WeightsError(f"{path} carries no class names or input size: keep {sidecar.name} "
                           "(written by `workbench export`) beside it")
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"Cannot read the model metadata {sidecar}: {exc}") from exc
    return ModelMetadata.from_dict(data, sidecar)


def _safetensors_metadata(path: Path) -> ModelMetadata | None:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        header = fh.metadata() or {}
    return ModelMetadata.from_dict(json.loads(header[METADATA_KEY]), path) if METADATA_KEY in header else None


