"""Any JSON gives a TrainConfig or a ConfigError, never another exception (Hypothesis)."""

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.config import AugmentConfig, ConfigError, TrainConfig, all_settings

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
keys = st.sampled_from([*(p.removeprefix("augment.") for p in all_settings()), "augment", "unknown"])
json_dicts = st.dictionaries(keys | st.text(max_size=8), json_values, max_size=6)


def _valid_dict() -> dict:
    return TrainConfig(model="resnet18", epochs=5, augment=AugmentConfig(hue=0.1)).to_dict()


@st.composite
def mutated_configs(draw) -> dict:
    """A valid config dict with a few settings (top-level or augment.*) replaced by any JSON value."""
    data = _valid_dict()
    for path in draw(st.lists(st.sampled_from(list(all_settings())), min_size=1, max_size=3)):
        target = data["augment"] if path.startswith("augment.") else data
        target[path.removeprefix("augment.")] = draw(json_values)
    if draw(st.booleans()):
        data["augment"] = draw(json_values)
    return data


def _check(build) -> None:
    try:
        config = build()
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return
    assert isinstance(config, TrainConfig) and isinstance(config.augment, AugmentConfig)
    assert all(isinstance(p, str) for p in config.problems())  # accepted types never trip a check
    config.notes()
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) is not None


@settings(max_examples=300, deadline=None)
@given(json_dicts)
def test_any_json_object_gives_a_config_or_a_config_error(data):
    _check(lambda: TrainConfig.from_dict(data))


@settings(max_examples=300, deadline=None)
@given(mutated_configs())
def test_a_mutated_valid_config_gives_a_config_or_a_config_error(data):
    _check(lambda: TrainConfig.from_dict(data))


@settings(max_examples=150, deadline=None)
@given(json_values | json_dicts | mutated_configs())
def test_any_json_file_gives_a_config_or_a_config_error(data):
    with tempfile.TemporaryDirectory() as folder:  # not tmp_path: one folder per example
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        _check(lambda: TrainConfig.load_json(path))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_in_a_config_file_give_a_config_or_a_config_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_bytes(content)
        _check(lambda: TrainConfig.load_json(path))


def test_the_valid_config_is_valid():
    assert TrainConfig.from_dict(_valid_dict()).problems() == []
