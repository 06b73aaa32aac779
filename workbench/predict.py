"""Trying a trained model on new images: top-k classes with calibrated probabilities.

Images get exactly the validation preprocessing of training (EXIF orientation, RGB, centre square
crop, resize to the model's input size, the run's normalisation), so predictions match the
numbers the run reported. Probabilities are softmax(logits / temperature), the temperature the
run fitted on its validation set (:mod:`workbench.engine.calibration`; 1 for a model without
one); a prediction below the model's ``unsure_below`` is marked unsure, with its runner-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from workbench.data.decode import fit_image, load_image
from workbench.data.scan import IMG_EXTENSIONS
from workbench.model_files import LoadedModel, ModelMetadata, load_model_file

_BATCH = 32  # images per forward pass: bounds memory for large folders


class UnreadableImagesError(ValueError):
    """None of the given images could be read; ``skipped`` lists (image, reason)."""

    def __init__(self, skipped: list[tuple[str, str]]):
        self.skipped = list(skipped)
        lines = "\n  ".join(f"{name}: {reason}" for name, reason in self.skipped) or "(no images given)"
        super().__init__(f"No image could be read:\n  {lines}")


@dataclass(frozen=True)
class Prediction:
    image: str  # path or label of the input
    top: list[tuple[str, float]]  # (class name, calibrated probability), best first
    unsure: bool = False  # the best class's probability is below the threshold
    runner_up: tuple[str, float] | None = None  # the second most likely class (None with one class)


class Predictor:
    """A trained model ready to classify images, from a run folder or any exported file."""

    def __init__(self, model: LoadedModel):
        self.model = model
        meta: ModelMetadata = model.metadata
        self.class_names: list[str] = list(meta.class_names)
        self.image_size: int = meta.image_size
        self.source: str = str(model.source)
        self.format: str = model.format
        self.temperature: float = meta.temperature
        self.unsure_below: float = meta.unsure_below

    @classmethod
    def load(cls, path: str | Path, checkpoint: str = "best", trust_torchscript: bool = False) -> Predictor:
        """Load a run folder (its best or last checkpoint), .pt, .safetensors, TorchScript or .onnx.

        Raises WeightsError with the reason for files that are missing, damaged, of another
        format, or that would need unpickling code. A TorchScript file this installation did not
        export needs ``trust_torchscript`` (UntrustedTorchScriptError otherwise): it runs code.
        """
        return cls(load_model_file(path, checkpoint, trust_torchscript=trust_torchscript))

    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """uint8 HWC images at the model's size → the normalised float32 NCHW batch it expects."""
        return to_model_input(images, self.model.metadata.mean, self.model.metadata.std)

    def logits(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Raw model outputs [N, classes] for uint8 HWC images at the model's size."""
        chunks = [self.model(self.preprocess(images[i:i + _BATCH])) for i in range(0, len(images), _BATCH)]
        return np.concatenate(chunks) if chunks else np.zeros((0, len(self.class_names)), np.float32)

    def probabilities(self, images: Sequence[np.ndarray], tta: bool = False) -> np.ndarray:
        """Calibrated class probabilities [N, classes] of uint8 HWC images at the model's size:
        softmax(logits / temperature); ``tta`` (test-time augmentation) averages them with those of
        the mirror images, as training's final evaluation does with its ``tta`` setting."""
        probabilities = softmax(self.logits(images) / self.temperature)
        if tta:
            mirrored = [np.ascontiguousarray(np.asarray(im)[:, ::-1]) for im in images]
            probabilities = (probabilities + softmax(self.logits(mirrored) / self.temperature)) / 2
        return probabilities

    def predict(self, images: Sequence[str | Path | Image.Image], top_k: int = 5,
                on_skip: Callable[[str, str], None] | None = None,
                unsure_below: float | None = None, tta: bool = False) -> list[Prediction]:
        """Top ``top_k`` classes of each image, in input order, each marked unsure when its best
        probability is below ``unsure_below`` (default: the model's own threshold); ``tta``: see
        :meth:`probabilities`.

        Images that cannot be read are left out and reported to ``on_skip(image, reason)``;
        if none can be read, UnreadableImagesError lists them all.
        """
        if top_k < 1:
            raise ValueError(f"top-k must be at least 1, got {top_k}")
        threshold = self.unsure_below if unsure_below is None else unsure_below
        if not 0 <= threshold <= 1:
            raise ValueError(f"the unsure threshold must be between 0 and 1, got {threshold}")
        labels, arrays, skipped = [], [], []
        for item in images:
            label = _label(item)
            try:
                arrays.append(self.read_image(item))
                labels.append(label)
            except Exception as exc:  # noqa: BLE001 — any decoder failure means: skip this image
                reason = f"could not be read ({exc.__class__.__name__}: {exc})"
                skipped.append((label, reason))
                if on_skip:
                    on_skip(label, reason)
        if not arrays:
            raise UnreadableImagesError(skipped)
        probabilities = self.probabilities(arrays, tta)
        k = min(top_k, len(self.class_names))
        results = []
        for label, row in zip(labels, probabilities, strict=True):
            ranked = np.argsort(-row, kind="stable")
            second = ((self.class_names[ranked[1]], float(row[ranked[1]])) if len(ranked) > 1 else None)
            results.append(Prediction(label, [(self.class_names[i], float(row[i])) for i in ranked[:k]],
                                      unsure=bool(row[ranked[0]] < threshold), runner_up=second))
        return results

    def read_image(self, item: str | Path | Image.Image) -> np.ndarray:
        """An image file or PIL image as a uint8 HWC array at the model's input size."""
        if isinstance(item, Image.Image):
            return fit_image(item, self.image_size)
        return load_image(str(item), self.image_size)


def to_model_input(images: Sequence[np.ndarray], mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """uint8 HWC images → float32 NCHW, scaled to 0..1 and normalised as in training."""
    batch = np.stack([np.asarray(im) for im in images]).transpose(0, 3, 1, 2).astype(np.float32)
    mean_ = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
    std_ = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
    return np.ascontiguousarray((batch / np.float32(255) - mean_) / std_)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise probabilities, computed in float64 for stability."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def expand_image_paths(items: Sequence[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files as given, folders expanded to their images (recursively, sorted); missing paths listed."""
    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.name.lower().endswith(IMG_EXTENSIONS))
            if not found:
                missing.append((str(path), "folder contains no images"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            missing.append((str(path), "does not exist"))
    return files, missing


def _label(item: str | Path | Image.Image) -> str:
    if isinstance(item, Image.Image):
        return getattr(item, "filename", "") or f"image {item.width}x{item.height}"
    return str(item)
