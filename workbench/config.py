"""The one training configuration: the window's form, the CLI flags and run files all map to it."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "exponential", "cosine", "one_cycle", "reduce_on_plateau")
MONITORS = ("val_loss", "val_accuracy")
DEVICES = ("auto", "cpu", "cuda", "mps")
FILL_MODES = ("constant", "nearest", "reflect", "wrap")


class ConfigError(ValueError):
    """Raised when settings are invalid; ``problems`` holds one reason per bad setting."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("Invalid settings:\n  - " + "\n  - ".join(self.problems))


@dataclass
class AugmentConfig:
    """Random augmentation of training images, named after Keras' ImageDataGenerator options.

    Ranges follow Keras: rotation uniform in [-rotation_range, rotation_range] degrees, shifts as a
    fraction of width/height, shear in degrees, zoom factor in [1 - zoom_range, 1 + zoom_range].
    """

    enabled: bool = True
    horizontal_flip: bool = True
    vertical_flip: bool = False
    rotation_range: float = 15.0
    width_shift_range: float = 0.1
    height_shift_range: float = 0.1
    shear_range: float = 0.0
    zoom_range: float = 0.1
    random_resized_crop: bool = False
    crop_scale_min: float = 0.5
    brightness: float = 0.1
    contrast: float = 0.1
    saturation: float = 0.1
    hue: float = 0.0
    fill_mode: str = "nearest"
    fill_value: float = 0.0

    def problems(self) -> list[str]:
        out: list[str] = []
        if not 0 <= self.rotation_range <= 180:
            out.append(f"rotation range must be between 0 and 180 degrees, got {self.rotation_range}")
        for name in ("width_shift_range", "height_shift_range"):
            if not 0 <= getattr(self, name) < 1:
                out.append(f"{name.replace('_', ' ')} must be in [0, 1), got {getattr(self, name)}")
        if not 0 <= self.shear_range < 90:
            out.append(f"shear range must be in [0, 90) degrees, got {self.shear_range}")
        if not 0 <= self.zoom_range < 1:
            out.append(f"zoom range must be in [0, 1), got {self.zoom_range}")
        if not 0 < self.crop_scale_min <= 1:
            out.append(f"crop scale minimum must be in (0, 1], got {self.crop_scale_min}")
        for name in ("brightness", "contrast", "saturation"):
            if not 0 <= getattr(self, name) < 1:
                out.append(f"{name} jitter must be in [0, 1), got {getattr(self, name)}")
        if not 0 <= self.hue <= 0.5:
            out.append(f"hue jitter must be in [0, 0.5], got {self.hue}")
        if self.fill_mode not in FILL_MODES:
            out.append(f"fill mode must be one of {', '.join(FILL_MODES)}, got {self.fill_mode!r}")
        if not 0 <= self.fill_value <= 255:
            out.append(f"fill value must be in [0, 255], got {self.fill_value}")
        return out

    @property
    def is_geometric(self) -> bool:
        return self.enabled and bool(
            self.horizontal_flip or self.vertical_flip or self.rotation_range
            or self.width_shift_range or self.height_shift_range or self.shear_range
            or self.zoom_range or self.random_resized_crop
        )

    @property
    def is_colour(self) -> bool:
        return self.enabled and bool(self.brightness or self.contrast or self.saturation or self.hue)


@dataclass
class TrainConfig:
    """Everything needed to (re-)run a training. Validated by :meth:`validate`."""

    data_dir: str | None = None  # None: the bundled sample dataset
    model: str = "small_cnn"
    pretrained: bool = False
    weights_path: str | None = None
    freeze_backbone_epochs: int = 0

    epochs: int = 10
    batch_size: int = 32
    early_stopping: bool = True
    patience: int = 3
    min_delta: float = 0.0
    monitor: str = "val_loss"
    baseline: float | None = None
    restore_best_weights: bool = True
    start_from_epoch: int = 0

    lr: float = 1e-3
    optimizer: str = "adamw"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "none"
    step_size: int = 5  # step schedule: epochs between decays
    gamma: float = 0.5  # step / exponential decay factor
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    label_smoothing: float = 0.0

    image_size: int = 64
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    mixed_precision: bool = True  # only takes effect on CUDA
    channels_last: bool = True  # only takes effect on CUDA
    workers: int = 2  # decode threads for the cache; loader processes when streaming
    cache_budget_mb: int = 2048
    max_image_megapixels: float = 89.0  # Pillow's decompression-bomb limit

    def problems(self) -> list[str]:
        """Every reason this configuration cannot be used (empty when valid)."""
        from workbench.models import MODEL_NAMES, model_problems  # models import torch: defer

        out: list[str] = []
        if self.model not in MODEL_NAMES:
            out.append(f"unknown model {self.model!r}; choose one of {', '.join(MODEL_NAMES)}")
        else:
            out.extend(model_problems(self.model, self.image_size, self.pretrained))
        if self.pretrained and self.weights_path:
            out.append("choose either pretrained weights or a local weights file, not both")
        if self.weights_path and not Path(self.weights_path).is_file():
            out.append(f"weights file not found: {self.weights_path}")
        _check_int(out, "epochs", self.epochs, 1, 100_000)
        _check_int(out, "batch size", self.batch_size, 1, 65_536)
        _check_int(out, "patience", self.patience, 0, 100_000)
        _check_int(out, "freeze backbone epochs", self.freeze_backbone_epochs, 0, 100_000)
        _check_int(out, "start from epoch", self.start_from_epoch, 0, 100_000)
        _check_int(out, "image size", self.image_size, 16, 1024)
        _check_int(out, "seed", self.seed, 0, 2**63 - 1)
        _check_int(out, "workers", self.workers, 0, 256)
        _check_int(out, "step size", self.step_size, 1, 100_000)
        _check_int(out, "plateau patience", self.plateau_patience, 0, 100_000)
        _check_int(out, "cache budget (MB)", self.cache_budget_mb, 0, 10**9)
        if not _finite(self.min_delta) or self.min_delta < 0:
            out.append(f"min_delta must be a number ≥ 0, got {self.min_delta}")
        if self.monitor not in MONITORS:
            out.append(f"monitored metric must be one of {', '.join(MONITORS)}, got {self.monitor!r}")
        if self.baseline is not None and not _finite(self.baseline):
            out.append(f"baseline must be a finite number or empty, got {self.baseline}")
        if not _finite(self.lr) or self.lr <= 0 or self.lr > 10:
            out.append(f"learning rate must be > 0 and ≤ 10, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            out.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if not _finite(self.momentum) or not 0 <= self.momentum < 1:
            out.append(f"momentum must be in [0, 1), got {self.momentum}")
        if not _finite(self.weight_decay) or self.weight_decay < 0:
            out.append(f"weight decay must be ≥ 0, got {self.weight_decay}")
        if self.schedule not in SCHEDULES:
            out.append(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        for name in ("gamma", "plateau_factor"):
            value = getattr(self, name)
            if not _finite(value) or not 0 < value < 1:
                out.append(f"{name.replace('_', ' ')} must be in (0, 1), got {value}")
        if not _finite(self.label_smoothing) or not 0 <= self.label_smoothing < 1:
            out.append(f"label smoothing must be in [0, 1), got {self.label_smoothing}")
        if not _finite(self.val_fraction) or not 0 < self.val_fraction < 1:
            out.append(f"validation fraction must be between 0 and 1 (exclusive), got {self.val_fraction}")
        if self.device not in DEVICES:
            out.append(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if not _finite(self.max_image_megapixels) or self.max_image_megapixels <= 0:
            out.append(f"max image megapixels must be > 0, got {self.max_image_megapixels}")
        if self.data_dir is not None and not str(self.data_dir).strip():
            out.append("image folder is empty; choose a folder")
        out.extend(self.augment.problems())
        return out

    def notes(self) -> list[str]:
        """Settings that are allowed but probably not what was meant (shown, never refused)."""
        out: list[str] = []
        if self.early_stopping and self.patience >= self.epochs:
            out.append(f"Patience {self.patience} ≥ epochs {self.epochs}: early stopping cannot trigger.")
        if self.mixed_precision and self.device == "cpu":
            out.append("Mixed precision only applies on a CUDA GPU.")
        return out

    def validate(self) -> TrainConfig:
        """Raise :class:`ConfigError` listing every problem; return self when valid."""
        problems = self.problems()
        if problems:
            raise ConfigError(problems)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict (e.g. config.json); unknown keys are refused with their names."""
        data = dict(data)
        augment = data.pop("augment", {}) or {}
        _refuse_unknown(cls, data, "")
        _refuse_unknown(AugmentConfig, augment, "augment.")
        return cls(**data, augment=AugmentConfig(**augment))

    def save_json(self, path: str | Path) -> None:
        from workbench.runs import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load_json(cls, path: str | Path) -> TrainConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError([f"cannot read config file {path}: {exc.strerror or exc}"]) from exc
        except json.JSONDecodeError as exc:
            raise ConfigError([f"config file {path} is not valid JSON: {exc}"]) from exc
        if not isinstance(data, dict):
            raise ConfigError([f"config file {path} must hold a JSON object"])
        return cls.from_dict(data)


def iterations_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimizer steps in one epoch. A last batch of a single image is folded into the one
    before it, because batch-norm layers cannot train on one sample."""
    if n_train <= 0 or batch_size <= 0:
        return 0
    full, rest = divmod(n_train, batch_size)
    if rest == 1 and full > 0:
        return full
    return full + (1 if rest else 0)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_int(out: list[str], name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        out.append(f"{name} must be a whole number, got {value!r}")
    elif not low <= value <= high:
        out.append(f"{name} must be between {low} and {high}, got {value}")


def _refuse_unknown(cls: type, data: dict[str, Any], prefix: str) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError([f"unknown setting {prefix}{name!r}" for name in unknown])
