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
