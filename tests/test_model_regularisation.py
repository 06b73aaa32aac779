"""Dropout before the classifier and stochastic depth: where they go, and that weights still fit."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.ops import StochasticDepth

from workbench.config import TrainConfig
from workbench.models import MODEL_NAMES, MODELS, build_model


def _build(name: str, **kwargs) -> nn.Module:
    try:
        with torch.device("meta"):  # no memory, no time: only the structure is looked at
            return build_model(name, 3, log=lambda _m: None, **kwargs)
    except NotImplementedError:  # regnet computes with tensors while it builds
        return build_model(name, 3, log=lambda _m: None, **kwargs)


def _dropout_feeding_head(model: nn.Module, head: str) -> nn.Dropout | None:
    """The Dropout applied to the classifier's input: inside it, or the layer just before it."""
    parent_path, _, attr = head.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    layer = parent[int(attr)] if attr.isdigit() else getattr(parent, attr)
    if isinstance(getattr(layer, "dropout", None), nn.Dropout):
        return layer.dropout
    if attr.isdigit() and int(attr) > 0 and isinstance(parent[int(attr) - 1], nn.Dropout):
        return parent[int(attr) - 1]
    return None


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_dropout_sits_before_every_classifier_and_keeps_the_weight_names(name):
    head = MODELS[name].head
    model = _build(name, dropout=0.35)
    dropout = _dropout_feeding_head(model, head)
    assert dropout is not None and dropout.p == pytest.approx(0.35)
    assert isinstance(model.get_submodule(head), nn.Linear)
    assert model.state_dict().keys() == _build(name).state_dict().keys()


def test_unset_dropout_keeps_the_architectures_own():
    assert _dropout_feeding_head(_build("efficientnet_b0"), MODELS["efficientnet_b0"].head).p == 0.2
    assert _dropout_feeding_head(_build("resnet18"), "fc") is None
    assert _dropout_feeding_head(_build("small_cnn", dropout=0.0), "head.2").p == 0.0


def test_dropout_acts_in_training_only_and_checkpoints_load_either_way():
    torch.manual_seed(0)
    model = build_model("small_cnn", 3, dropout=0.5, log=lambda _m: None)
    x = torch.randn(4, 3, 32, 32)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    plain = build_model("small_cnn", 3, log=lambda _m: None).eval()
    plain.load_state_dict(model.state_dict())  # what export and predict build
    torch.testing.assert_close(plain(x), model(x))


@pytest.mark.parametrize("name", ["efficientnet_b0", "convnext_tiny"])
def test_stochastic_depth_rises_to_the_setting(name):
    rates = [m.p for m in _build(name, drop_path=0.4).modules() if isinstance(m, StochasticDepth)]
    assert rates and 0.3 < max(rates) <= 0.4 and min(rates) < max(rates)
    assert all(m.p == 0 for m in _build(name, drop_path=0.0).modules() if isinstance(m, StochasticDepth))


def test_stochastic_depth_is_refused_where_the_architecture_has_none():
    problems = TrainConfig(model="resnet18", drop_path=0.1).problems()
    assert any("resnet18 has no stochastic depth" in p and "efficientnet_b0" in p for p in problems)
    assert not TrainConfig(model="convnext_tiny", drop_path=0.1).problems()
    assert not TrainConfig(model="resnet18", dropout=0.2).problems()
    with pytest.raises(ValueError, match="no stochastic depth"):
        build_model("small_cnn", 3, drop_path=0.1)


def test_regularisation_settings_are_off_by_default():
    config = TrainConfig()
    assert (config.ema, config.dropout, config.drop_path) == (False, None, None)
    augment = config.augment
    assert augment.policy == "none" and augment.random_erasing == 0
    assert augment.mixup_alpha == 0 and augment.cutmix_alpha == 0
    assert not augment.is_per_image_policy and not augment.is_mixing
