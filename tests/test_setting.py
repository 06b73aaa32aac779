"""Every setting is described once, completely, beside its field."""

import dataclasses

import pytest

from workbench.config import AugmentConfig, TrainConfig, all_settings
from workbench.setting import Setting, settings_of

GROUPS = {"Model", "Training", "Early stopping", "Optimizer", "Schedule", "Data", "Hardware", "Augmentation",
          "Fine-tuning", "Regularisation", "Reporting"}
FREE_TEXT = {"data_dir", "weights_path"}  # paths: no choices


def test_every_field_has_a_setting():
    for cls in (TrainConfig, AugmentConfig):
        names = {f.name for f in dataclasses.fields(cls)} - {"augment"}  # augment: a nested config
        assert set(settings_of(cls)) == names


@pytest.mark.parametrize(("path", "s"), list(all_settings().items()))
def test_every_setting_is_complete(path, s: Setting):
    assert s.label and s.label[0].isupper(), path
    assert s.help.endswith(".") and len(s.help) > 20, path  # a sentence a newcomer can read
    assert s.group in GROUPS, path
    assert s.kind in (bool, int, float, str), path
    if s.kind in (int, float):
        assert s.min is not None, f"{path}: a number needs at least a lower bound"
        assert s.max is None or s.min < s.max, path
        assert s.step > 0, path
        if s.default is not None:
            assert s.min <= s.default and (s.max is None or s.default <= s.max), path
    else:
        assert s.min is None and s.max is None, path
    if s.kind is str and path not in FREE_TEXT:
        assert s.options(), f"{path}: a string setting needs choices"
        assert s.default in s.options(), path
    assert s.optional == (s.default is None or path in FREE_TEXT), path


def test_labels_are_unique():
    settings = list(all_settings().values())
    assert len({s.label for s in settings}) == len(settings)


@pytest.mark.parametrize(("details", "text"), [
    ({"min": 1, "max": 100}, "between 1 and 100"),
    ({"min": 0, "max": 1, "min_inclusive": False, "max_inclusive": False}, "between 0 and 1 (exclusive)"),
    ({"min": 0, "max": 10, "min_inclusive": False}, "> 0 and ≤ 10"),
    ({"min": 0, "max": 0.5, "max_inclusive": False}, "≥ 0 and < 0.5"),
    ({"min": 0}, "≥ 0"),
    ({}, ""),
])
def test_bounds_in_words(details, text):
    assert Setting("X", "An x.", "Data", **details).bounds_text() == text


def test_a_registry_of_choices_is_read_only_when_asked():
    s = all_settings()["model"]
    assert callable(s.choices) and not s.strict_choices
    assert "small_cnn" in s.options()
