"""timm models (``--model timm:NAME``): names, weights, layer groups, and a run through export and
predict. The architecture is timm's ``test_efficientnet`` (0.1 M parameters), at 32 px."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench import models, timm_models
from workbench.config import TrainConfig
from workbench.models import WeightsError, build_model

TINY = "timm:test_efficientnet"


def _quiet(_message):
    pass


def test_unknown_timm_names_are_refused_with_close_matches():
    problems = TrainConfig(model="timm:resnet10tt").problems()
    assert problems[0].startswith("unknown timm model 'resnet10tt'; did you mean timm:resnet10t")
    assert "no weights tagged 'nope'" in TrainConfig(model="timm:resnet10t.nope").problems()[0]
    assert TrainConfig(model="timm:resnet10t.c3_in1k", pretrained=True).problems() == []
    assert "unknown model 'resnet9000'" in TrainConfig(model="resnet9000").problems()[0]
    with pytest.raises(ValueError, match="unknown timm model"):
        build_model("timm:not_a_model", 3, log=_quiet)


def test_timm_model_has_a_fresh_head_and_its_own_normalisation():
    model = build_model(TINY, 5, image_size=32, log=_quiet).eval()
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 5)
    # Its weights' normalisation when it starts from them; 0.5 from scratch, as for every model.
    assert models.normalization(TINY, pretrained=True) == (models.IMAGENET_MEAN, models.IMAGENET_STD)
    assert models.normalization("timm:test_vit", pretrained=True) == ((0.5,) * 3, (0.5,) * 3)
    assert models.normalization(TINY, pretrained=False) == (models.SCRATCH_MEAN, models.SCRATCH_STD)


def test_parameter_count_on_the_meta_device_matches_the_built_model():
    real = models.count_parameters(build_model(TINY, 7, image_size=32, log=_quiet))
    assert models.parameter_count(TINY, 7, 32) == real
    # A transformer is built for the image size (its position embedding has one entry per patch).
    assert models.parameter_count("timm:test_vit", 3, 64) < models.parameter_count("timm:test_vit", 3, 160)


def test_drop_rates_are_passed_to_timm():
    model = build_model("timm:test_resnet", 3, image_size=32, log=_quiet, dropout=0.3, drop_path=0.1)
    assert model.drop_rate == 0.3
    assert any(type(m).__name__ == "DropPath" for m in model.modules())


def test_layer_groups_hold_every_parameter_once_and_the_head_is_the_classifier():
    model = build_model("timm:test_resnet", 3, image_size=32, log=_quiet)
    names = models.layer_group_names("timm:test_resnet")
    assert names == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    groups = models.layer_groups(model, "timm:test_resnet")
    seen = [id(p) for _, params in groups for p in params]
    assert sorted(seen) == sorted(id(p) for p in model.parameters()) and len(set(seen)) == len(seen)
    assert {id(p) for p in groups[-1][1]} == {id(p) for p in model.get_classifier().parameters()}
    models.set_backbone_frozen(model, "timm:test_resnet", frozen=True)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}
    assert not model.layer1[0].bn1.training  # frozen batch norms keep their statistics


def test_a_local_weights_file_loads_the_backbone_and_keeps_a_fresh_head(tmp_path):
    from safetensors.torch import save_file

    source = build_model(TINY, 10, image_size=32, log=_quiet)
    path = tmp_path / "test_efficientnet.safetensors"
    save_file(source.state_dict(), str(path))
    messages = []
    model = build_model(TINY, 3, weights_path=str(path), image_size=32, log=messages.append)
    assert torch.equal(model.conv_stem.weight, source.conv_stem.weight)
    assert model.get_classifier().out_features == 3
    assert "kept their fresh values" in messages[0]


def test_offline_pretrained_download_gives_the_same_clear_message(monkeypatch, tmp_path):
    import huggingface_hub.constants as hub

    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)  # what a computer without a network sees
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    expected = "offline.*huggingface.co/timm/test_efficientnet.*local weights file"
    with pytest.raises(WeightsError, match=expected):
        build_model(TINY, 3, pretrained=True, image_size=32, log=_quiet)


@pytest.fixture(scope="module")
def timm_run(tiny_data, tmp_path_factory):
    from workbench.engine.trainer import Trainer

    config = TrainConfig(data_dir=str(tiny_data), model=TINY, image_size=32, epochs=1, batch_size=8,
                         workers=1, seed=0, layer_lr_decay=0.8, early_stopping=False)
    out = tmp_path_factory.mktemp("timm") / "run"
    summary = Trainer(config, out=out).run()
    assert summary["status"] == "finished", summary
    return out


def test_a_timm_run_resumes(timm_run, tmp_path):
    import shutil

    from workbench.engine.trainer import Trainer

    run = tmp_path / "run"
    shutil.copytree(timm_run, run)
    config = TrainConfig.load_json(run / "config.json")
    config.epochs = 2
    config.save_json(run / "config.json")
    summary = Trainer(config, resume=run).run()
    assert summary["stop_reason"] == "completed all 2 epochs", summary


@pytest.mark.parametrize("fmt", ["pt", "safetensors", "torchscript", "onnx"])
def test_a_timm_run_exports_to_every_format_and_predicts_the_same(timm_run, tiny_data, tmp_path, fmt):
    from workbench.export import export_model
    from workbench.predict import Predictor

    result = export_model(timm_run, fmt, out=tmp_path)
    assert result.max_abs_diff <= 1e-4
    exported, run = Predictor.load(result.path), Predictor.load(timm_run)
    assert exported.model.metadata.architecture == TINY
    images = [run.read_image(p) for p in sorted((tiny_data / "circle").glob("*.jpg"))[:3]]
    np.testing.assert_allclose(exported.logits(images), run.logits(images), atol=1e-4)


def test_the_cli_lists_timm_models_and_explains_a_timm_run(timm_run, tiny_data, tmp_path):
    from workbench.cli import main

    assert main(["models", "--timm", "test_eff*"]) == 0
    out = tmp_path / "heat"
    image = tiny_data / "star" / "star_000.jpg"
    assert main(["predict", str(timm_run), str(image), "--explain", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["star_000.heatmap.png"]


def test_timm_architectures_are_listed():
    names = timm_models.architectures()
    assert len(names) > 1000 and "resnet10t" in names and len(set(names)) == len(names)
