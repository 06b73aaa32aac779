import json

import pytest

from workbench.config import AugmentConfig, ConfigError, TrainConfig, iterations_per_epoch


def test_defaults_are_valid():
    assert TrainConfig().validate().problems() == []


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"epochs": 0}, "epochs must be between 1"),
        ({"batch_size": -4}, "batch size must be between 1"),
        ({"lr": -0.1}, "learning rate must be > 0"),
        ({"lr": float("nan")}, "learning rate"),
        ({"model": "resnet9000"}, "unknown model 'resnet9000'"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of"),
        ({"schedule": "warmup"}, "schedule must be one of"),
        ({"monitor": "loss"}, "monitored metric must be one of"),
        ({"val_fraction": 1.0}, "validation fraction"),
        ({"epochs": 2.5}, "epochs must be a whole number"),
        ({"patience": True}, "patience must be a whole number"),
        ({"model": "vit_b_16", "image_size": 50}, "divisible by 16"),
        ({"model": "small_cnn", "pretrained": True}, "no pretrained weights"),
        ({"weights_path": "/no/such/file.pt"}, "weights file not found"),
        ({"device": "tpu"}, "device must be one of"),
    ],
)
def test_bad_values_are_refused_with_the_reason(changes, fragment):
    config = TrainConfig(**changes)
    with pytest.raises(ConfigError) as info:
        config.validate()
    assert any(fragment in p for p in info.value.problems), info.value.problems


def test_every_problem_is_reported_at_once():
    problems = TrainConfig(epochs=0, batch_size=0, lr=0).problems()
    assert len(problems) == 3


def test_augment_problems_are_included():
    config = TrainConfig(augment=AugmentConfig(rotation_range=400, fill_mode="mirror"))
    problems = config.problems()
    assert any("rotation range" in p for p in problems)
    assert any("fill mode" in p for p in problems)


def test_patience_larger_than_epochs_is_allowed():
    assert TrainConfig(epochs=3, patience=10).problems() == []


def test_json_round_trip(tmp_path):
    config = TrainConfig(model="resnet18", epochs=7, augment=AugmentConfig(rotation_range=5))
    path = tmp_path / "config.json"
    config.save_json(path)
    assert json.loads(path.read_text())["augment"]["rotation_range"] == 5
    assert TrainConfig.load_json(path) == config


def test_unknown_keys_are_named(tmp_path):
    with pytest.raises(ConfigError, match="unknown setting 'epoch'"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ConfigError, match="augment.'flip'"):
        TrainConfig.from_dict({"augment": {"flip": True}})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        TrainConfig.load_json(bad)


@pytest.mark.parametrize(("n", "b", "expected"), [(100, 32, 4), (96, 32, 3), (97, 32, 3), (98, 32, 4),
                                                  (5, 32, 1), (1, 1, 1), (0, 8, 0)])
def test_iterations_per_epoch(n, b, expected):
    assert iterations_per_epoch(n, b) == expected
