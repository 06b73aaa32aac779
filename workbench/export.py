"""Exporting a run's trained model: state_dict, safetensors, TorchScript or ONNX, each verified.

Every export writes the model file and its metadata beside it (``NAME.<ext>.json``; also inside
the file where the format allows, see :mod:`workbench.model_files`), then loads the file back
exactly as a user would (``torch.load(weights_only=True)``, safetensors, ``torch.jit.load``,
onnxruntime) and compares its logits with the trained model's on real validation images. A
difference above 1e-4 is an ExportError and the files are removed: a wrong model never ships.

Both files are written under temporary names in a hidden staging folder beside the target,
verified there, and only then renamed into place (metadata first, model last): a kill at any
moment leaves either no model at the target or a verified one, never a half-written or
unverified file under the name the user asked for. Where the files go is checked first
(:mod:`workbench.export_paths`): never onto a run's own files, never over a file without ``force``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench.config import TrainConfig
from workbench.data.decode import load_image
from workbench.data.prepare import data_dir_of, split_samples
from workbench.data.scan import scan_image_folder
from workbench.engine.checkpoint import load_checkpoint
from workbench.export_paths import CHECKPOINTS, FORMATS, ExportError, default_export_path, export_target
from workbench.model_files import (
    METADATA_KEY,
    TORCHSCRIPT_EXTRA,
    ModelMetadata,
    load_fitting,
    load_model_file,
    metadata_path_for,
)
from workbench.model_limits import check_declared_size
from workbench.models import WeightsError, build_model, refusal_message
from workbench.predict import to_model_input
from workbench.runs import (
    RunFolder,
    atomic_write_bytes,
    atomic_write_text,
    has_run_layout,
    is_run_folder,
    read_run_info,
)
from workbench.torchscript_trust import record_trusted

__all__ = ["CHECKPOINTS", "FORMATS", "ExportError", "ExportResult", "default_export_path",
           "export_model"]

TOLERANCE = 1e-4  # max abs logit difference allowed for float32
_CHECK_IMAGES = 8  # validation images compared; not 2, the ONNX export's example batch size
_EXAMPLE_BATCH = 2
_STALE_SECONDS = 3600  # a staging folder this old belongs to an export that was killed


@dataclass(frozen=True)
class ExportResult:
    format: str
    path: Path
    metadata_path: Path | None
    max_abs_diff: float
    images_checked: int
    checked_on: str = "validation images"  # or "random images (the run's data folder is gone)"

    def describe(self) -> str:
        """One line for people, e.g. for the CLI and the window's status bar."""
        return (f"Exported {self.format} to {self.path} (metadata {self.metadata_path}); verified on "
                f"{self.images_checked} {self.checked_on}: max abs difference {self.max_abs_diff:.2e}")


def export_model(run_dir: str | Path, fmt: str, checkpoint: str = "best",
                 out: str | Path | None = None, force: bool = False) -> ExportResult:
    """Write checkpoint ``checkpoint`` of the run in ``run_dir`` as ``fmt`` and verify it.

    ``out`` is the file to write, or a folder (existing, or ending in a slash) to write the
    default file name into (default: the run's exports/ folder). An existing file is only
    replaced with ``force``; a run's own files never are. Raises ExportError with the reason on
    any failure.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if checkpoint not in CHECKPOINTS:
        raise ExportError(f"checkpoint must be best or last, not {checkpoint!r}")
    run_dir = Path(run_dir).expanduser()
    if has_run_layout(run_dir) and not is_run_folder(run_dir):
        raise ExportError(f"{run_dir} cannot be exported: {read_run_info(run_dir).note}")
    if not is_run_folder(run_dir):
        raise ExportError(f"{run_dir} is not a Workbench run folder (no config.json and checkpoints/)")
    ckpt_path = RunFolder(run_dir).checkpoint_path(checkpoint)
    if not ckpt_path.is_file():
        raise ExportError(f"{run_dir} has no {checkpoint} checkpoint yet (no epoch has finished)")
    path = export_target(run_dir, fmt, checkpoint, out, force)  # before the slow part
    model, meta, state = _trained_model(run_dir, ckpt_path, checkpoint)
    try:
        staging = _staging_folder(path)
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}") from exc
    try:
        staged = staging / path.name
        try:
            _WRITERS[fmt](model, state["model"], meta, staged)
            atomic_write_text(metadata_path_for(staged), meta.to_json())
        except OSError as exc:
            raise ExportError(f"Cannot write {path}: {exc.strerror or exc}") from exc
        diff, count, checked_on = _verify(model, meta, staged, state)
        if fmt == "torchscript":
            record_trusted(staged)  # ours: it loads later without asking (torchscript_trust)
        sidecar = metadata_path_for(path)
        os.replace(metadata_path_for(staged), sidecar)
        os.replace(staged, path)
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(fmt, path, sidecar, diff, count, checked_on)


def _trained_model(run_dir: Path, ckpt_path: Path, checkpoint: str):
    """The checkpoint's model in eval mode, its metadata and the raw state; ExportError if damaged."""
    try:
        check_declared_size(ckpt_path, "pt")
        try:
            state = load_checkpoint(ckpt_path)
        except Exception as exc:  # noqa: BLE001 — weights_only refuses pickled code with many error types
            raise WeightsError(refusal_message(ckpt_path, exc)) from exc
        meta = ModelMetadata.from_checkpoint(state, run_dir.resolve(), checkpoint, source=ckpt_path)
        if not isinstance(state.get("model"), dict):
            raise WeightsError(f"The checkpoint {ckpt_path} is incomplete: no 'model' weights")
        model = build_model(meta.architecture, len(meta.class_names), image_size=meta.image_size,
                            log=lambda _m: None)
        load_fitting(model, state["model"], meta, ckpt_path)
    except WeightsError as exc:
        raise ExportError(str(exc)) from exc
    return model.eval(), meta, state


def _staging_folder(path: Path) -> Path:
    """A fresh hidden folder beside ``path``, so the final renames stay on one file system.

    Folders a killed export left for the same target are removed first: their contents were
    never verified. Only old ones, so an export to the same name running right now keeps its own.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.export-*.tmp"):
        try:
            if time.time() - stale.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.export-", suffix=".tmp", dir=path.parent))


# Writers ---------------------------------------------------------------------------------------
def _write_state_dict(model: nn.Module, weights: dict, meta: ModelMetadata, path: Path) -> None:
    buf = io.BytesIO()
    torch.save({k: v.contiguous() for k, v in weights.items()}, buf)
    atomic_write_bytes(path, buf.getvalue())


def _write_safetensors(model: nn.Module, weights: dict, meta: ModelMetadata, path: Path) -> None:
    from safetensors.torch import save

    header = {METADATA_KEY: json.dumps(meta.to_dict()), "class_names": json.dumps(meta.class_names),
              "model": meta.architecture, "image_size": str(meta.image_size), "epoch": str(meta.epoch),
              "temperature": repr(meta.temperature)}
    atomic_write_bytes(path, save({k: v.contiguous() for k, v in weights.items()}, metadata=header))


def _write_torchscript(model: nn.Module, weights: dict, meta: ModelMetadata, path: Path) -> None:
    # Tracing (not scripting) works for every torchvision architecture; the graph has no
    # data-dependent control flow, and the batch size stays free.
    example = torch.zeros(_EXAMPLE_BATCH, 3, meta.image_size, meta.image_size)
    # torch 2.10+ marks TorchScript deprecated (FutureWarning); users still ask for the format.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)
        traced = torch.jit.trace(model, example)
        buf = io.BytesIO()
        torch.jit.save(traced, buf, _extra_files={TORCHSCRIPT_EXTRA: meta.to_json()})
    atomic_write_bytes(path, buf.getvalue())


def _write_onnx(model: nn.Module, weights: dict, meta: ModelMetadata, path: Path) -> None:
    import onnx

    example = torch.zeros(_EXAMPLE_BATCH, 3, meta.image_size, meta.image_size)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_file = Path(tmp) / "model.onnx"
        try:
            program = torch.onnx.export(
                model, (example,), None, dynamo=True, input_names=["input"], output_names=["logits"],
                dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
            program.save(str(tmp_file), external_data=False)
        except Exception as exc:  # noqa: BLE001 — the exporter raises many types
            raise ExportError(f"ONNX export of {meta.architecture} failed: {exc}") from exc
        proto = onnx.load(str(tmp_file))
    proto.metadata_props.add(key=METADATA_KEY, value=json.dumps(meta.to_dict()))
    proto.doc_string = (f"Workbench {meta.architecture} classifier of {len(meta.class_names)} classes; "
                        "see metadata_props['workbench']")
    atomic_write_bytes(path, proto.SerializeToString())


_WRITERS = {"pt": _write_state_dict, "safetensors": _write_safetensors,
            "torchscript": _write_torchscript, "onnx": _write_onnx}


# Verification ----------------------------------------------------------------------------------
def _verify(model: nn.Module, meta: ModelMetadata, path: Path, state: dict) -> tuple[float, int, str]:
    """Load ``path`` back as a user would and compare its logits with ``model``'s."""
    batch, checked_on = _check_batch(meta, state)
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch)).numpy()
    try:
        loaded = load_model_file(path, trust_torchscript=True)  # we wrote it a moment ago
    except WeightsError as exc:
        raise ExportError(f"The exported file {path} cannot be loaded back: {exc}") from exc
    if loaded.metadata.class_names != meta.class_names or loaded.metadata.image_size != meta.image_size:
        raise ExportError(f"The exported file {path} reads back with different metadata")
    # The full batch and a single image: a batch axis frozen at export time fails one of them.
    diffs = []
    for part in (batch, batch[:1]):
        got = loaded(part)
        want = expected[: len(part)]
        if got.shape != want.shape:
            raise ExportError(f"The exported {loaded.format} model returns shape {got.shape} for a batch "
                              f"of {len(part)}; the trained model returns {want.shape}")
        diffs.append(float(np.max(np.abs(got - want))))
    diff = max(diffs)
    if not diff <= TOLERANCE:
        raise ExportError(f"The exported {loaded.format} model disagrees with the trained model: max abs "
                          f"logit difference {diff:.3g} > {TOLERANCE:g} on {len(batch)} {checked_on}")
    return diff, len(batch), checked_on


def _check_batch(meta: ModelMetadata, state: dict) -> tuple[np.ndarray, str]:
    """A few real validation images of the run, preprocessed as in training; random inputs if the
    data folder is gone."""
    images = []
    try:
        config = TrainConfig.from_dict(state["config"])
        # The same scan settings as training give the same split: these are held-out images.
        _, val = split_samples(scan_image_folder(data_dir_of(config), config.max_image_megapixels), config)
        step = max(1, len(val) // _CHECK_IMAGES)  # spread over the classes (val is ordered by class)
        for image_path, _ in val[::step]:
            try:
                images.append(load_image(image_path, meta.image_size))
            except Exception:  # noqa: BLE001 — a file changed since training: use the others
                continue
            if len(images) == _CHECK_IMAGES:
                break
    except Exception:  # noqa: BLE001 — folder moved or deleted: fall back below
        images = []
    if len(images) >= 2:
        return to_model_input(images, meta.mean, meta.std), "validation images"
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (_CHECK_IMAGES, meta.image_size, meta.image_size, 3), dtype=np.uint8)
    return to_model_input(noise, meta.mean, meta.std), "random images (the run's data folder is gone)"
