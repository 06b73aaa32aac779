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


@pytest.mark.parametrize(("data", "message"), [
    ({"early_stopping": "false"}, "early_stopping must be true or false, got 'false'"),
    ({"early_stopping": 0}, "early_stopping must be true or false, got 0"),
    ({"augment": {"rotation_range": "15"}}, "augment.rotation_range must be a number, got '15'"),
    ({"augment": {"horizontal_flip": 1}}, "augment.horizontal_flip must be true or false, got 1"),
    ({"epochs": "10"}, "epochs must be a whole number, got '10'"),
    ({"epochs": 10.0}, "epochs must be a whole number, got 10.0"),
    ({"epochs": True}, "epochs must be a whole number, got True"),
    ({"lr": True}, "lr must be a number, got True"),
    ({"lr": [0.1]}, "lr must be a number, got [0.1]"),
    ({"batch_size": {"value": 8}}, "batch_size must be a whole number, got {'value': 8}"),
    ({"model": 18}, "model must be text, got 18"),
    ({"weights_path": False}, "weights_path must be text or empty, got False"),
    ({"baseline": "0.5"}, "baseline must be a number or empty, got '0.5'"),
    ({"lr": 10**400}, "lr is too large a number"),
])
def test_from_dict_refuses_wrong_types_naming_the_setting(data, message):
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict(data)
    assert info.value.problems == [message]


@pytest.mark.parametrize("augment", [None, [], "on", 1, True])
def test_augment_must_be_an_object(augment):
    with pytest.raises(ConfigError, match="augment must be a JSON object"):
        TrainConfig.from_dict({"augment": augment})


def test_from_dict_accepts_whole_numbers_for_numbers_and_null_for_optional_settings():
    config = TrainConfig.from_dict({"lr": 1, "baseline": None, "weights_path": None,
                                    "augment": {"rotation_range": 20}})
    assert config.lr == 1.0 and isinstance(config.lr, float) and config.baseline is None
    assert config.augment.rotation_range == 20.0 and isinstance(config.augment.rotation_range, float)


def test_from_dict_leaves_ranges_to_validate():
    config = TrainConfig.from_dict({"epochs": 0, "model": "resnet9000"})  # e.g. another version's file
    assert any("epochs must be between 1" in p for p in config.problems())


def test_all_type_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({"epochs": "1", "lr": "x", "nope": 1, "augment": {"hue": "0"}})
    assert len(info.value.problems) == 4


@pytest.mark.parametrize("content", [b"[1, 2]", b"\xff\xfe not utf-8", b'{"epochs": ' + b"9" * 5000 + b"}",
                                     b"[" * 100_000])
def test_load_json_refuses_what_is_not_a_settings_object(tmp_path, content):
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="config file"):
        TrainConfig.load_json(path)


def test_problems_of_wrong_types_set_in_code_do_not_raise():
    config = TrainConfig(model=None, image_size="64", weights_path=3, data_dir=5, augment="x")
    problems = config.problems()
    assert "image size must be a whole number, got '64'" in problems
    assert "model must be text, got None" in problems
    assert any("augment must be augmentation settings" in p for p in problems)


def test_derived_messages_read_as_before():
    problems = TrainConfig(lr=20, val_fraction=1, min_delta=-1, baseline=float("inf"),
                           augment=AugmentConfig(width_shift_range=1, hue=0.6)).problems()
    assert problems == [
        "min delta must be a finite number ≥ 0, got -1",
        "baseline must be a finite number ≥ 0 or empty, got inf",
        "learning rate must be > 0 and ≤ 10, got 20",
        "validation fraction must be between 0 and 1, 1 excluded (0: no validation split), got 1",
        "width shift range must be ≥ 0 and < 1, got 1",
        "hue jitter must be between 0 and 0.5, got 0.6",
    ]
