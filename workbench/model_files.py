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
ever unpickled beyond ``torch.load(weights_only=True)``, and a TorchScript program only runs when
this installation exported it or the user chose to trust it (:mod:`workbench.torchscript_trust`).
Before anything is loaded, the metadata and the tensor sizes a file declares are checked against
:mod:`workbench.model_limits`: a file is input, and input does not get to choose our memory use.
"""

from __future__ import annotations

import json
import math
import struct
import warnings
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.config import TrainConfig
from workbench.engine.calibration import MAX_TEMPERATURE, MIN_TEMPERATURE
from workbench.model_file_names import FILE_SUFFIXES, metadata_path_for  # noqa: F401 — re-exported
from workbench.model_limits import (
    MAX_METADATA_CHARS,
    MAX_MODEL_BYTES,
    check_declared_size,
    metadata_problems,
    parse_metadata_json,
)
from workbench.models import WeightsError, build_model, refusal_message, tensors_only
from workbench.runs import RunFolder, has_run_layout, is_run_folder, read_run_info
from workbench.torchscript_trust import check_torchscript_allowed

METADATA_FORMAT = "workbench-model-1"
# For files written before the setting existed.
DEFAULT_UNSURE_BELOW = TrainConfig.__dataclass_fields__["unsure_below"].default
METADATA_KEY = "workbench"  # safetensors header key, ONNX metadata_props key, TorchScript extra file
TORCHSCRIPT_EXTRA = "workbench.json"


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
    # Temperature scaling fitted on the validation set: softmax(logits / temperature) are the
    # calibrated probabilities (1: not calibrated, e.g. a run without validation images).
    temperature: float = 1.0
    unsure_below: float = DEFAULT_UNSURE_BELOW  # the run's threshold for calling a prediction unsure

    def to_dict(self) -> dict[str, Any]:
        data = {"format": METADATA_FORMAT, **asdict(self)}
        data["input"] = (f"float32 RGB tensor [batch, 3, {self.image_size}, {self.image_size}]: pixels "
                         "scaled to 0..1, minus mean, divided by std (per channel), after a centre "
                         "square crop")
        data["output"] = ("logits [batch, classes] in class_names order; softmax(logits / temperature) "
                          "gives calibrated probabilities")
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "") -> ModelMetadata:
        """Metadata from a file's JSON; WeightsError (never another exception) if it is not usable."""
        if not isinstance(data, dict):
            raise WeightsError(f"The model metadata of {source} must be a JSON object, "
                               f"not {type(data).__name__}")
        missing = [k for k in ("class_names", "image_size", "mean", "std", "architecture") if k not in data]
        if missing:
            raise WeightsError(f"The model metadata of {source} is incomplete: no {', '.join(missing)}")
        epoch = data.get("epoch")
        return cls.checked(data["class_names"], data["image_size"], data["mean"], data["std"],
                           data["architecture"], source, workbench_version=data.get("workbench_version", ""),
                           source_run=data.get("source_run", ""), checkpoint=data.get("checkpoint", ""),
                           epoch=epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None,
                           temperature=data.get("temperature", 1.0),
                           unsure_below=data.get("unsure_below", DEFAULT_UNSURE_BELOW))

    @classmethod
    def from_checkpoint(cls, state: Any, source_run: str | Path, checkpoint: str,
                        source: str | Path = "") -> ModelMetadata:
        """Metadata of a Workbench training checkpoint (checkpoints/best.pt or last.pt)."""
        source = source or source_run
        try:
            mean, std = state["normalization"]
            names, size, architecture = state["class_names"], state["image_size"], state["config"]["model"]
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"The checkpoint {source} is incomplete: {_missing(exc)}") from None
        epoch = state.get("epoch")
        calibration = state.get("calibration")  # written at the end of the run (TemperatureScaling)
        temperature = calibration.get("temperature", 1.0) if isinstance(calibration, dict) else 1.0
        return cls.checked(names, size, mean, std, architecture, source,
                           workbench_version=state.get("workbench_version", ""), source_run=source_run,
                           checkpoint=checkpoint, epoch=epoch if isinstance(epoch, int) else None,
                           temperature=temperature,
                           unsure_below=state["config"].get("unsure_below", DEFAULT_UNSURE_BELOW))

    @classmethod
    def checked(cls, class_names: Any, image_size: Any, mean: Any, std: Any, architecture: Any,
                source: str | Path, **info: Any) -> ModelMetadata:
        """Values from a file, type- and range-checked before any of them sizes an allocation."""
        where = f"The model metadata of {source}"
        if not isinstance(class_names, (list, tuple)) or not all(isinstance(c, str) for c in class_names):
            raise WeightsError(f"{where} is damaged: class_names must be a list of names")
        if isinstance(image_size, bool) or not isinstance(image_size, int):
            raise WeightsError(f"{where} is damaged: image_size must be a whole number, "
                               f"got {image_size!r:.40}")
        if not isinstance(architecture, str):
            raise WeightsError(f"{where} is damaged: architecture must be a name, got {architecture!r:.40}")
        try:
            mean_, std_ = [float(v) for v in mean], [float(v) for v in std]
        except (TypeError, ValueError, OverflowError):
            raise WeightsError(f"{where} is damaged: mean and std must be lists of numbers") from None
        problems = metadata_problems(list(class_names), image_size, mean_, std_, architecture)
        if problems:
            raise WeightsError(f"{where} does not describe a model Workbench can use: "
                               + "; ".join(problems))
        temperature = _number_in(info.pop("temperature", 1.0), MIN_TEMPERATURE, MAX_TEMPERATURE,
                                 f"{where} is damaged: temperature")
        unsure_below = _number_in(info.pop("unsure_below", DEFAULT_UNSURE_BELOW), 0.0, 1.0,
                                  f"{where} is damaged: unsure_below")
        return cls(class_names=list(class_names), image_size=image_size, mean=mean_, std=std_,
                   architecture=architecture, temperature=temperature, unsure_below=unsure_below,
                   **{k: str(v) if k != "epoch" else v for k, v in info.items()})


def _number_in(value: Any, low: float, high: float, what: str) -> float:
    """``value`` as a float in [low, high], or a WeightsError starting with ``what``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            and low <= value <= high:
        return float(value)
    raise WeightsError(f"{what} must be a number between {low:g} and {high:g}, got {value!r:.40}")


def _missing(exc: Exception) -> str:
    return f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else f"damaged ({exc})"


def detect_format(path: str | Path) -> str:
    """"run", "pt", "safetensors", "torchscript" or "onnx", from the contents of ``path``."""
    path = Path(path)
    if path.is_dir():
        if is_run_folder(path):
            return "run"
        if has_run_layout(path):
            raise WeightsError(f"{path} cannot be used: {read_run_info(path).note}")
        raise WeightsError(f"{path} is a folder but not a Workbench run folder")
    if not path.is_file():
        raise WeightsError(f"{path} does not exist")
    if path.stat().st_size > MAX_MODEL_BYTES:
        check_declared_size(path, "file")  # refuses with the size and the limit
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
    """A model file loaded to run on the CPU: float32 NCHW batch in, logits out (numpy).

    ``module`` is the torch module behind it (None for ONNX), for what needs more than the
    logits, such as heat maps (:mod:`workbench.explain`).
    """

    def __init__(self, metadata: ModelMetadata, fmt: str, source: Path, run, module=None):
        self.metadata = metadata
        self.format = fmt
        self.source = source
        self._run = run
        self.module = module

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = np.asarray(self._run(np.ascontiguousarray(batch, dtype=np.float32)), dtype=np.float32)
        classes = len(self.metadata.class_names)
        # A file's program and its metadata may disagree; an extra score has no class name.
        if out.ndim != 2 or out.shape != (len(batch), classes):
            raise WeightsError(f"The model {self.source} returns scores of shape {list(out.shape)} for "
                               f"{len(batch)} image(s), but its metadata names {classes} classes")
        return out


def load_model_file(path: str | Path, checkpoint: str = "best",
                    trust_torchscript: bool = False) -> LoadedModel:
    """Load a run folder (its ``checkpoint``), a checkpoint, or any exported file, ready to run.

    A TorchScript file only loads if this installation exported it or ``trust_torchscript``
    (the user's explicit choice): see :mod:`workbench.torchscript_trust` for why.
    """
    path = Path(path).expanduser()
    fmt = detect_format(path)
    if fmt != "run":
        check_declared_size(path, fmt)
    if fmt == "run":
        if checkpoint not in ("best", "last"):
            raise WeightsError(f"checkpoint must be best or last, not {checkpoint!r}")
        ckpt = RunFolder(path).checkpoint_path(checkpoint)
        if not ckpt.is_file():
            raise WeightsError(f"{path} has no {checkpoint} checkpoint yet (no epoch has finished)")
        check_declared_size(ckpt, "pt")  # a run's checkpoint is a file like any other
        return _load_torch_weights(ckpt, "pt", run_dir=path, checkpoint=checkpoint)
    if fmt in ("pt", "safetensors"):
        return _load_torch_weights(path, fmt)
    if fmt == "torchscript":
        check_torchscript_allowed(path, trust_torchscript)
        return _load_torchscript(path)
    return _load_onnx(path)


def _load_torch_weights(path: Path, fmt: str, run_dir: Path | None = None,
                        checkpoint: str = "") -> LoadedModel:
    if fmt == "pt":
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 — refuse anything that is not plain tensors
            raise WeightsError(refusal_message(path, exc)) from exc
        # A checkpoint holds its weights under "model" (a state_dict's values are all tensors).
        if run_dir or (isinstance(data, dict) and isinstance(data.get("model"), dict)):
            run = run_dir or (path.parent.parent if path.parent.name == "checkpoints" else path.parent)
            meta = ModelMetadata.from_checkpoint(data, run, checkpoint or path.stem, source=path)
            state = tensors_only(data.get("model"), path)
        else:
            meta, state = _sidecar_metadata(path), tensors_only(data, path)
    else:
        from safetensors.torch import load_file  # by contents: the name may not end in .safetensors

        meta = _safetensors_metadata(path) or _sidecar_metadata(path)  # checked before any tensor
        try:
            state = load_file(str(path))
        except Exception as exc:  # noqa: BLE001 — safetensors raises its own error types
            raise WeightsError(f"Cannot read safetensors file {path}: {exc}") from exc
    model = build_model(meta.architecture, len(meta.class_names), image_size=meta.image_size,
                        log=lambda _m: None)
    load_fitting(model, state, meta, path)
    return LoadedModel(meta, "run" if run_dir else fmt, run_dir or path, _torch_runner(model.eval()),
                       module=model)


def load_fitting(model: torch.nn.Module, state: dict, meta: ModelMetadata, path: Path) -> None:
    """``state`` into ``model`` exactly (every key, every shape), or a WeightsError saying what differs."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        # torch's first line only names the class; the next ones say which keys or shapes differ.
        lines = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
        detail = "; ".join(lines) or str(exc)
        raise WeightsError(f"The weights in {path} do not fit a {meta.architecture} with "
                           f"{len(meta.class_names)} classes: {detail[:400]}") from exc


def _load_torchscript(path: Path) -> LoadedModel:
    extra = {TORCHSCRIPT_EXTRA: ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated upstream
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except Exception as exc:  # noqa: BLE001 — a damaged or foreign archive
        raise WeightsError(f"Cannot load TorchScript model {path}: {exc}") from exc
    if extra[TORCHSCRIPT_EXTRA]:
        meta = ModelMetadata.from_dict(parse_metadata_json(extra[TORCHSCRIPT_EXTRA], path), path)
    else:
        meta = _sidecar_metadata(path)
    return LoadedModel(meta, "torchscript", path, _torch_runner(module.eval()), module=module)


def _load_onnx(path: Path) -> LoadedModel:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 — onnxruntime raises its own exception types
        raise WeightsError(f"Cannot load ONNX model {path}: {exc}") from exc
    props = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY in props:
        meta = ModelMetadata.from_dict(parse_metadata_json(props[METADATA_KEY], path), path)
    else:
        meta = _sidecar_metadata(path)
    outputs = session.get_outputs()
    width = outputs[0].shape[-1] if outputs and outputs[0].shape else None
    if isinstance(width, int) and width != len(meta.class_names):
        raise WeightsError(f"The ONNX model {path} gives {width} scores per image but its metadata "
                           f"names {len(meta.class_names)} classes; it does not belong with this metadata")
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
        if sidecar.stat().st_size > MAX_METADATA_CHARS:  # class names and a few numbers, not megabytes
            raise WeightsError(f"The model metadata {sidecar} is too large "
                               f"({sidecar.stat().st_size} bytes; at most {MAX_METADATA_CHARS})")
        text = sidecar.read_bytes()
    except OSError as exc:
        raise WeightsError(f"Cannot read the model metadata {sidecar}: {exc.strerror or exc}") from exc
    return ModelMetadata.from_dict(parse_metadata_json(text, sidecar), sidecar)


def _safetensors_metadata(path: Path) -> ModelMetadata | None:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            header = fh.metadata() or {}
    except Exception as exc:  # noqa: BLE001 — safetensors raises its own error types
        raise WeightsError(f"Cannot read safetensors file {path}: {exc}") from exc
    if METADATA_KEY not in header:
        return None
    return ModelMetadata.from_dict(parse_metadata_json(header[METADATA_KEY], path), path)


