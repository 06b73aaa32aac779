"""The search space of ``workbench search``: what may be searched, its checks, and a trial's
settings from the values drawn. ``{setting: {type: float|int|categorical, low, high, log |
choices | values}}``; ``augment_strength`` scales every augmentation range at once."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

from workbench.config import ConfigError, TrainConfig

# What is searched when no space is given: the settings that matter most for image classifiers.
DEFAULT_SPACE: dict[str, dict] = {
    "lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    "batch_size": {"type": "categorical", "choices": [16, 32, 64]},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
    "optimizer": {"type": "categorical", "choices": ["sgd", "adam", "adamw"]},
    "label_smoothing": {"type": "float", "low": 0.0, "high": 0.2},
    "augment_strength": {"type": "float", "low": 0.0, "high": 2.0},
}
# Augmentation ranges scaled by "augment_strength" (1 = the configured ones).
_SCALED_AUGMENTS = ("rotation_range", "width_shift_range", "height_shift_range", "shear_range",
                    "zoom_range", "brightness", "contrast", "saturation", "hue")


def load_space(path: str | Path | None) -> dict[str, dict]:
    """A search space from a JSON or YAML file (``{setting: spec}``), checked; the default without one."""
    if path is None:
        return copy.deepcopy(DEFAULT_SPACE)
    text = Path(path).read_text(encoding="utf-8")
    try:
        if str(path).endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 — any parse error is the file's fault
        raise ConfigError([f"search space {path} cannot be read: {exc}"]) from exc
    return check_space(data)


def check_space(space: Any) -> dict[str, dict]:
    """Refuse a space naming unknown settings or malformed ranges, with every reason."""
    if not isinstance(space, dict) or not space:
        raise ConfigError(["a search space is a non-empty object of {setting: spec}"])
    known = {f.name for f in dataclasses.fields(TrainConfig)} | {"augment_strength"}
    problems = []
    for name, spec in space.items():
        if name not in known:
            problems.append(f"search space: unknown setting {name!r}")
            continue
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind in ("float", "int"):
            low, high = spec.get("low"), spec.get("high")
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) \
                    or not low < high or (spec.get("log") and low <= 0):
                problems.append(f"search space: {name} needs numbers low < high (> 0 on a log scale)")
        elif kind == "categorical":
            if not isinstance(spec.get("choices"), list) or not spec["choices"]:
                problems.append(f"search space: {name} needs a non-empty list of choices")
        else:
            problems.append(f"search space: {name} needs type float, int or categorical")
    if problems:
        raise ConfigError(problems)
    return space


def grid_of(space: dict[str, dict]) -> dict[str, list]:
    """Grid search takes explicit values: categorical choices, or a spec's ``values`` list."""
    grid = {}
    for name, spec in space.items():
        values = spec.get("values") or spec.get("choices")
        if not values:
            raise ConfigError([f"grid search needs explicit values for {name} (\"values\": [...])"])
        grid[name] = list(values)
    return grid


def config_for(base: TrainConfig, params: dict[str, Any]) -> TrainConfig:
    """The trial's settings: the fixed ones with the sampled ones applied, validated."""
    config = copy.deepcopy(base)
    for name, value in params.items():
        if name == "augment_strength":
            for field in _SCALED_AUGMENTS:
                setattr(config.augment, field, getattr(base.augment, field) * value)
            config.augment.hue = min(config.augment.hue, 0.5)
            for field in ("width_shift_range", "height_shift_range", "zoom_range", "brightness",
                          "contrast", "saturation"):
                setattr(config.augment, field, min(getattr(config.augment, field), 0.95))
            config.augment.rotation_range = min(config.augment.rotation_range, 180)
            config.augment.shear_range = min(config.augment.shear_range, 89)
        else:
            setattr(config, name, value)
    return config.validate()


def distributions(space: dict[str, dict], grid: bool = False) -> dict:
    """Optuna distributions of a space; for grid search, explicit ``values`` are the choices."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for name, spec in space.items():
        values = spec.get("values")
        if spec["type"] == "categorical" or (grid and values):
            out[name] = CategoricalDistribution(values or spec["choices"])
        elif spec["type"] == "int":
            out[name] = IntDistribution(int(spec["low"]), int(spec["high"]), log=bool(spec.get("log")))
        else:
            out[name] = FloatDistribution(float(spec["low"]), float(spec["high"]),
                                          log=bool(spec.get("log")))
    return out
