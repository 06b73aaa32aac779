"""The fitted temperature travels with the model: checkpoint → every export format → predictions."""

from __future__ import annotations

import json

import pytest

from workbench.engine.checkpoint import load_checkpoint
from workbench.export import FORMATS
from workbench.model_files import ModelMetadata, load_model_file, metadata_path_for
from workbench.models import WeightsError
from workbench.predict import Predictor


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_temperature_round_trips_through_every_export(exported_models, trained_run, fmt):
    stored = load_checkpoint(trained_run / "checkpoints" / "best.pt")["calibration"]["temperature"]
    assert stored != 1.0
    result = exported_models[fmt]
    sidecar = json.loads(metadata_path_for(result.path).read_text())
    assert sidecar["temperature"] == stored and sidecar["unsure_below"] == 0.5
    loaded = load_model_file(result.path, trust_torchscript=True)  # in-file metadata where there is one
    assert loaded.metadata.temperature == stored
    assert Predictor.load(result.path, trust_torchscript=True).temperature == stored
    assert Predictor.load(trained_run).temperature == stored  # the run folder itself


def test_the_safetensors_header_names_the_temperature(exported_models, trained_run):
    from safetensors import safe_open

    with safe_open(str(exported_models["safetensors"].path), framework="pt") as fh:
        header = fh.metadata()
    assert float(header["temperature"]) == json.loads(header["workbench"])["temperature"]


def _meta(**changes) -> dict:
    return {"class_names": ["a", "b"], "image_size": 32, "mean": [0.5] * 3, "std": [0.5] * 3,
            "architecture": "small_cnn", **changes}


def test_files_from_before_calibration_read_as_uncalibrated():
    meta = ModelMetadata.from_dict(_meta())
    assert meta.temperature == 1.0 and meta.unsure_below == 0.5


@pytest.mark.parametrize(("key", "value"), [("temperature", "hot"), ("temperature", 0.0),
                                            ("temperature", float("nan")), ("temperature", True),
                                            ("temperature", 1e9), ("unsure_below", 1.5)])
def test_a_damaged_temperature_or_threshold_is_refused(key, value):
    with pytest.raises(WeightsError, match=f"damaged: {key} must be a number between"):
        ModelMetadata.from_dict(_meta(**{key: value}), "model.onnx")
