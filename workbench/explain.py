"""Grad-CAM heat maps: where in an image a model found its evidence for a class.

Grad-CAM (Selvaraju et al. 2017) weighs the channels of a convolutional feature map by the
gradient of the class's score and keeps the positive part: the places that raise the score. The
computation is Captum's ``LayerGradCam`` (maintained by the PyTorch team, pure PyTorch, no OpenCV
to bundle, unlike pytorch-grad-cam); this module picks the layer, upsamples the map to the image
and blends it over the image as a colour map (our own small table, so the app needs no
matplotlib).

The layer is found by one rule for every architecture, built-in, torchvision or timm: the last
module the forward pass finishes whose output is a square feature map (N, C, H, W) at a stride of
the input (2, 4 … 32 px per cell) with more than one cell: the last convolutional stage of a CNN
(ResNet's ``layer4``, timm's ``stages.3``, the small CNN's ``features``); for a transformer,
whose later layers hold tokens, not maps, its patch embedding. Nothing here imports Qt.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from workbench.data.decode import load_image

OVERLAY_ALPHA = 0.5  # how much of the colour map covers the image where the heat is highest
MAX_OVERLAY_PX = 1024  # an overlay PNG is written at the image's size, up to this side


class ExplainError(ValueError):
    """A heat map cannot be computed for this model (e.g. an ONNX file: a graph, not weights)."""


def feature_map_layer(model: nn.Module, image_size: int) -> tuple[str, nn.Module]:
    """(dotted name, module) of the layer Grad-CAM reads; ExplainError if the model has none."""
    finished: list[tuple[str, nn.Module, tuple[int, ...]]] = []

    def record(name):
        def hook(module, _inputs, output):
            if isinstance(output, torch.Tensor) and not isinstance(module, nn.Dropout):
                finished.append((name, module, tuple(output.shape)))
        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in model.named_modules() if name]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    for name, module, shape in reversed(finished):
        if _is_feature_map(shape, image_size):
            return name, module
    raise ExplainError("this model has no convolutional feature map for a heat map to be read from")


def _is_feature_map(shape: tuple[int, ...], image_size: int) -> bool:
    # A square grid of H × H cells, H within a cell of image_size / 2^k (k ≥ 1; convolutions round
    # up): this tells a map (N, C, H, W) from channels-last tensors (N, H, W, C) and from
    # attention matrices (N, heads, tokens, tokens).
    if len(shape) != 4 or shape[-1] != shape[-2] or shape[-1] < 2:
        return False
    return any(abs(shape[-1] - image_size / 2**k) < 1 for k in range(1, 12))


class Explainer:
    """Grad-CAM for one model: ``heat_map(image, class_index)``; safe to call from any thread
    (one computation at a time: Captum hooks the shared model while it runs)."""

    def __init__(self, module: nn.Module, image_size: int, mean, std, class_names: list[str]):
        from captum.attr import LayerGradCam

        self.module = module.eval()
        self.image_size = image_size
        self.mean, self.std = list(mean), list(std)
        self.class_names = list(class_names)
        self.layer_name, layer = feature_map_layer(self.module, image_size)
        self._cam = LayerGradCam(self.module, layer)
        self._lock = threading.Lock()

    @classmethod
    def for_model(cls, loaded) -> Explainer:
        """The explainer of a :class:`~workbench.model_files.LoadedModel` (or a Predictor's)."""
        loaded = getattr(loaded, "model", loaded)  # a Predictor holds its LoadedModel
        meta = loaded.metadata
        module = getattr(loaded, "module", None)
        if isinstance(module, torch.jit.ScriptModule):
            module = _rebuilt(module, meta, loaded.source)
        if not isinstance(module, nn.Module):
            raise ExplainError(f"Heat maps need the model's PyTorch weights (a run folder, .pt, "
                               f".safetensors or TorchScript file); {loaded.source} is a "
                               f"{loaded.format} file, a compiled graph Grad-CAM cannot look inside")
        return cls(module, meta.image_size, meta.mean, meta.std, meta.class_names)

    def class_index(self, name_or_index: str | int) -> int:
        if isinstance(name_or_index, int):
            if not 0 <= name_or_index < len(self.class_names):
                raise ExplainError(f"class index {name_or_index} is out of range")
            return name_or_index
        try:
            return self.class_names.index(name_or_index)
        except ValueError:
            raise ExplainError(f"the model has no class {name_or_index!r}") from None

    def heat_map(self, image: np.ndarray, target: int | str) -> np.ndarray:
        """Grad-CAM of class ``target`` for a uint8 HWC RGB image: float32 [H, W] in 0..1 at the
        image's own size (1 where the evidence is strongest; all 0 when there is none)."""
        from workbench.predict import to_model_input

        image = np.asarray(image)
        index = self.class_index(target)
        h, w = image.shape[:2]
        model_view = image if (h, w) == (self.image_size,) * 2 else np.asarray(
            Image.fromarray(image).resize((self.image_size, self.image_size), Image.BILINEAR))
        x = torch.from_numpy(to_model_input([model_view], self.mean, self.std)).requires_grad_(True)
        with self._lock, torch.enable_grad():
            cam = self._cam.attribute(x, target=index, relu_attributions=True).detach()
        heat = torch.nn.functional.interpolate(cam.float(), size=(h, w), mode="bilinear",
                                               align_corners=False)[0, 0].clamp_min(0)
        peak = float(heat.max())
        return (heat / peak if peak > 0 else heat).numpy().astype(np.float32)

    def overlay_of_file(self, path: str | Path, target: int | str | None = None,
                        size: int | None = None) -> tuple[np.ndarray, int]:
        """(overlay uint8 HWC, class index) for an image file: the model's view of it (centre square
        crop) at ``size`` px (default: its own size, at most MAX_OVERLAY_PX) with the heat map of
        ``target`` (default: the class the model predicts) blended over it."""
        model_view = load_image(str(path), self.image_size)  # exactly what predict feeds the model
        if target is None:
            target = self.predicted(model_view)
        index = self.class_index(target)
        if size is None:
            with Image.open(path) as im:
                size = max(1, min(min(im.size), MAX_OVERLAY_PX))
        shown = model_view if size == self.image_size else load_image(str(path), size)
        heat = self.heat_map(model_view, index)
        if heat.shape != shown.shape[:2]:
            heat = resize_heat(heat, shown.shape[0])
        return overlay(shown, heat), index

    def predicted(self, image: np.ndarray) -> int:
        """The class the model gives the highest score to, for an image at its input size."""
        from workbench.predict import to_model_input

        with self._lock, torch.inference_mode():
            logits = self.module(torch.from_numpy(to_model_input([image], self.mean, self.std)))
        return int(logits[0].argmax())


def _rebuilt(script: torch.jit.ScriptModule, meta, source) -> nn.Module:
    """A TorchScript export's weights in the architecture its metadata names (hooks need a
    Python module; a traced one keeps the parameter names)."""
    from workbench.model_files import load_fitting
    from workbench.models import WeightsError, build_model

    model = build_model(meta.architecture, len(meta.class_names), image_size=meta.image_size,
                        log=lambda _m: None)
    try:
        load_fitting(model, script.state_dict(), meta, Path(source))
    except WeightsError as exc:
        raise ExplainError(f"Cannot compute heat maps with {source}: {exc}") from exc
    return model


def resize_heat(heat: np.ndarray, size: int) -> np.ndarray:
    """A heat map resampled (bilinear) to ``size`` × ``size``."""
    t = torch.from_numpy(np.ascontiguousarray(heat, dtype=np.float32))[None, None]
    return torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear",
                                           align_corners=False)[0, 0].numpy()


# The "jet" colour map by its anchors (blue → cyan → yellow → red): 256 entries interpolated.
_ANCHORS = np.array([0.0, 0.125, 0.375, 0.625, 0.875, 1.0])
_ANCHOR_RGB = np.array([[0, 0, 128], [0, 0, 255], [0, 255, 255], [255, 255, 0], [255, 0, 0],
                        [128, 0, 0]], dtype=np.float64)
_LUT = np.stack([np.interp(np.linspace(0, 1, 256), _ANCHORS, _ANCHOR_RGB[:, c]) for c in range(3)],
                axis=1).round().astype(np.uint8)


def colormap(heat: np.ndarray) -> np.ndarray:
    """Heat in 0..1 (any shape) → uint8 RGB colours, blue for 0 to red for 1."""
    index = np.clip(np.nan_to_num(np.asarray(heat, dtype=np.float32)), 0, 1) * 255
    return _LUT[index.round().astype(np.intp)]


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """The colour-mapped heat blended over a uint8 HWC image: more colour where the heat is
    higher, so the cold parts of the image stay readable."""
    image = np.asarray(image, dtype=np.float32)
    if heat.shape != image.shape[:2]:
        raise ValueError(f"heat map {heat.shape} does not match image {image.shape[:2]}")
    weight = (alpha * (0.3 + 0.7 * np.clip(heat, 0, 1)))[..., None]
    blended = (1 - weight) * image + weight * colormap(heat).astype(np.float32)
    return blended.round().clip(0, 255).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def overlay_file_names(images: list[Path]) -> list[str]:
    """``NAME.heatmap.png`` for each image, numbered where two images share a name."""
    used: set[str] = set()
    out = []
    for path in images:
        stem, n = Path(path).stem, 1
        name = f"{stem}.heatmap.png"
        while name.lower() in used:  # lower: one file on case-insensitive file systems
            n += 1
            name = f"{stem}-{n}.heatmap.png"
        used.add(name.lower())
        out.append(name)
    return out
