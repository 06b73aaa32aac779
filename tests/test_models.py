import pickle
import urllib.error

import pytest
import torch

from workbench import models
from workbench.models import (
    MODEL_NAMES,
    WeightsError,
    build_model,
    count_parameters,
    load_weights_file,
    read_state_dict,
    set_backbone_frozen,
)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_architecture_gets_a_head_for_n_classes(name):
    size = 32
    model = build_model(name, 3, image_size=size, log=lambda m: None).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 3, size, size))
    assert out.shape == (2, 3)


def test_registry_has_the_promised_architectures():
    for name in ("resnet18", "resnet50", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0",
                 "convnext_tiny", "regnet_y_400mf", "vit_b_16", "small_cnn"):
        assert name in MODEL_NAMES


def test_offline_pretrained_download_gives_a_clear_message(monkeypatch):
    import torchvision

    weights = torchvision.models.get_model_weights("resnet18").DEFAULT

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(type(weights), "get_state_dict", offline)
    with pytest.raises(WeightsError, match="offline.*local weights file"):
        build_model("resnet18", 4, pretrained=True, log=lambda m: None)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_local_weights_file_loads_backbone_and_keeps_a_fresh_head(tmp_path, suffix):
    source = build_model("resnet18", 10, log=lambda m: None)
    path = tmp_path / f"weights{suffix}"
    if suffix == ".pt":
        torch.save(source.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file(source.state_dict(), str(path))
    messages = []
    model = build_model("resnet18", 3, weights_path=str(path), log=messages.append)
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert model.fc.out_features == 3
    assert "fresh values" in messages[-1]


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = tmp_path / "cnn.pt"
    torch.save(build_model("small_cnn", 3).state_dict(), path)
    with pytest.raises(WeightsError, match="same architecture"):
        load_weights_file(build_model("resnet18", 3, log=lambda m: None), path)


class _Exploit:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_a_weights_file_with_pickled_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"conv1.weight": _Exploit()}, fh)
    with pytest.raises(WeightsError, match="Refused to load"):
        read_state_dict(path)
    assert "pickled code ran" not in capsys.readouterr().out


def test_freezing_leaves_only_the_head_trainable_and_backbone_batchnorm_in_eval():
    model = build_model("resnet18", 4, log=lambda m: None)
    set_backbone_frozen(model, "resnet18", frozen=True)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}
    assert not model.bn1.training
    set_backbone_frozen(model, "resnet18", frozen=False)
    assert count_parameters(model, trainable_only=True) == count_parameters(model)
    assert model.bn1.training


def test_normalisation_follows_the_weights():
    assert models.normalization("resnet18", pretrained=True) == (models.IMAGENET_MEAN, models.IMAGENET_STD)
    assert models.normalization("resnet18", pretrained=False) == (models.SCRATCH_MEAN, models.SCRATCH_STD)


def _meta_model(name):
    """The architecture without weights (instant), or for real where a builder needs tensors."""
    try:
        with torch.device("meta"):
            return build_model(name, 3, image_size=32, log=lambda m: None)
    except NotImplementedError:  # regnet computes its widths with tensors
        return build_model(name, 3, image_size=32, log=lambda m: None)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_layer_groups_hold_every_parameter_once_in_order_from_stem_to_head(name):
    model = _meta_model(name)
    groups = models.layer_groups(model, name)
    names = [group for group, _ in groups]
    assert names == models.layer_group_names(name)
    assert len(set(names)) == len(names) and len(names) >= 4
    assert names[-1] == "head" and all(params for _, params in groups)
    # Concatenated, the groups are the model's parameters in its own (input → output) order:
    # every parameter exactly once, and each group after the one it follows in the network.
    assert [id(p) for _, params in groups for p in params] == [id(p) for p in model.parameters()]
    # The head is what freezing the backbone leaves trainable.
    keep = models.MODELS[name].trainable_with_frozen_backbone
    head = {id(p) for n, p in model.named_parameters() if n.startswith(keep)}
    assert {id(p) for p in groups[-1][1]} == head


def test_resnet_layer_groups_are_its_stages():
    assert models.layer_group_names("resnet18") == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    assert models.layer_group_names("small_cnn") == ["block1", "block2", "block3", "block4", "head"]


def test_training_the_last_groups_freezes_the_earlier_ones_and_their_batchnorm():
    model = build_model("resnet18", 4, image_size=32, log=lambda m: None)
    models.set_trainable_groups(model, "resnet18", 3)  # head, layer4, layer3
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc", "layer4", "layer3"}
    assert not model.bn1.training and not model.layer2[0].bn1.training
    assert model.layer3[0].bn1.training and model.layer4[1].bn2.training
    models.set_trainable_groups(model, "resnet18", None)
    assert count_parameters(model, trainable_only=True) == count_parameters(model)
    assert model.bn1.training
