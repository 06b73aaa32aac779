"""Hostile model files (tests/hostile_models.py): each is refused with its reason, or shown safely.

Nothing a file says runs code, sizes an allocation, or reaches the terminal unescaped.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench import model_limits
from workbench.cli import main
from workbench.export import export_model
from workbench.models import WeightsError
from workbench.predict import Predictor
from workbench.torchscript_trust import UntrustedTorchScriptError, record_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_models as hm  # noqa: E402


@pytest.fixture
def image(tiny_data):
    return tiny_data / "circle" / "circle_000.jpg"


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# TorchScript ---------------------------------------------------------------------------------------
def test_a_foreign_torchscript_is_refused_and_its_code_never_runs(tmp_path, capsys, image):
    marker = tmp_path / "pwned"
    evil = hm.torchscript_writing_a_file(tmp_path, marker)
    with pytest.raises(UntrustedTorchScriptError) as refused:
        Predictor.load(evil)
    message = str(refused.value)
    assert f"Refused to load TorchScript file {evil}: loading a TorchScript file runs the code" in message
    assert "ONNX or safetensors export instead" in message and "--trust-torchscript" in message
    code, out, err = _cli(capsys, "predict", evil, image)
    assert code == 1 and err.startswith(f"error: Refused to load TorchScript file {evil}") and out == ""
    assert not marker.exists()
    # The trap is real: the user's explicit opt-in runs it.
    code, out, err = _cli(capsys, "predict", evil, image, "--trust-torchscript")
    assert code == 0, err
    assert marker.exists() and out.startswith(str(image))


def test_workbench_own_torchscript_exports_load_without_asking_wherever_they_are(exported_models, tmp_path):
    export = exported_models["torchscript"]
    assert Predictor.load(export.path).format == "torchscript"
    moved = hm.copy_export(export, tmp_path / "elsewhere")
    assert Predictor.load(moved).class_names == Predictor.load(export.path).class_names
    record = json.loads(record_path().read_text())
    assert len(record["sha256"]) >= 1 and all(len(h) == 64 for h in record["sha256"])
    changed = tmp_path / "changed.torchscript.pt"
    changed.write_bytes(moved.read_bytes() + b"\0")  # one byte more: no longer what we exported
    shutil.copyfile(export.metadata_path, changed.with_name(changed.name + ".json"))
    with pytest.raises(UntrustedTorchScriptError, match="did not export it"):
        Predictor.load(changed)


def test_a_damaged_trust_record_trusts_nothing(exported_models, tmp_path, monkeypatch):
    record = tmp_path / "record.json"
    record.write_text("[" * 50_000)
    monkeypatch.setenv("WORKBENCH_TRUST_FILE", str(record))
    with pytest.raises(UntrustedTorchScriptError):
        Predictor.load(exported_models["torchscript"].path)


# Names that forge output ----------------------------------------------------------------------------
def test_a_class_name_with_a_newline_and_escape_codes_cannot_forge_a_prediction_line(
        exported_models, tmp_path, capsys, image):
    forged = hm.forged_class_names(exported_models["pt"], tmp_path)
    code, out, err = _cli(capsys, "predict", forged, image, "--top-k", "4")
    assert code == 0, err
    assert "\x1b" not in out and len(out.splitlines()) == 1 + 4  # the image, then its 4 classes
    assert "cat\\n  1. dog            100.00%\\x1b[2K\\x1b[31m" in out
    code, out, _ = _cli(capsys, "predict", forged, image, "--json")  # JSON escapes by itself
    assert json.loads(out)["class_names"][0] == hm.FORGED_NAME


# Metadata that sizes allocations ------------------------------------------------------------------------
@pytest.mark.parametrize(("case", "reason"), [
    (hm.huge_image_size, "image size must be between 16 and 1024, got 12000"),
    (hm.unknown_architecture, "unknown model 'resnet9000'; choose one of small_cnn"),
    (hm.bad_normalisation, "normalisation std must be 3 numbers between 0.001 and 1, got [0.0, 0.5, 0.5]"),
])
def test_metadata_outside_the_training_limits_is_refused_before_building(
        case, reason, exported_models, tmp_path, capsys, image, monkeypatch):
    path = case(exported_models["pt"], tmp_path)
    monkeypatch.setattr("workbench.model_files.build_model", lambda *a, **k: pytest.fail("allocated"))
    code, _out, err = _cli(capsys, "predict", path, image)
    assert code == 1
    assert err.startswith(f"error: The model metadata of {path}.json does not describe a model Workbench "
                          f"can use: {reason}")


def test_too_many_classes_are_refused(exported_models, tmp_path):
    names = [f"c{i}" for i in range(model_limits.MAX_CLASSES + 1)]
    path = hm.with_sidecar(exported_models["pt"], tmp_path, "many.pt", class_names=names)
    with pytest.raises(WeightsError, match="names 100001 classes, more than the 100000 Workbench allows"):
        Predictor.load(path)


@pytest.mark.parametrize(("fmt", "case"), [("safetensors", hm.safetensors_bad_json),
                                           ("onnx", hm.onnx_bad_json),
                                           ("torchscript", hm.torchscript_bad_json)])
def test_invalid_json_in_a_metadata_block_is_a_clear_error(fmt, case, exported_models, tmp_path, capsys,
                                                           image):
    path = case(exported_models[fmt], tmp_path)
    args = ("predict", path, image, *(["--trust-torchscript"] if fmt == "torchscript" else []))
    code, _out, err = _cli(capsys, *args)
    assert code == 1 and err.startswith(f"error: The model metadata of {path} is not valid JSON (")
    assert "Traceback" not in err


def test_an_onnx_model_with_more_outputs_than_class_names_is_refused(exported_models, tmp_path, capsys,
                                                                      image):
    path = hm.onnx_more_outputs_than_names(exported_models["onnx"], tmp_path)
    code, _out, err = _cli(capsys, "predict", path, image)
    assert code == 1
    assert err == (f"error: The ONNX model {path} gives 4 scores per image but its metadata names 2 "
                   "classes; it does not belong with this metadata\n")


def test_a_program_whose_output_disagrees_with_its_metadata_fails_at_prediction(exported_models):
    predictor = Predictor.load(exported_models["pt"].path)
    predictor.model.metadata = dataclasses.replace(predictor.model.metadata, class_names=["a", "b"])
    with pytest.raises(WeightsError, match=r"returns scores of shape \[1, 4\] for 1 image\(s\), but its "
                                           "metadata names 2 classes"):
        predictor.logits([np.zeros((32, 32, 3), np.uint8)])


# Declared tensor sizes ------------------------------------------------------------------------------------
def test_a_small_zip_declaring_a_gigabyte_is_refused_before_loading(tmp_path, monkeypatch):
    bomb = hm.compressed_gigabyte(tmp_path)
    assert bomb.stat().st_size < 8_000_000
    # 512 MiB here only to keep the test small: the real limit is 4 GiB, far above any model.
    monkeypatch.setattr(model_limits, "MAX_MODEL_BYTES", 512 * 1024**2)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was reached"))
    with pytest.raises(WeightsError) as refused:
        Predictor.load(bomb)
    assert str(refused.value) == (f"Refused to load {bomb}: it declares 1.0 GB of tensors, more than the "
                                  "536.9 MB any Workbench model needs, so it is damaged or built to "
                                  "exhaust memory")


def test_a_safetensors_header_declaring_40_gb_is_refused_at_the_default_limit(tmp_path, capsys, image):
    path = hm.safetensors_declaring_terabytes(tmp_path)
    code, _out, err = _cli(capsys, "predict", path, image)
    assert code == 1 and err.startswith(f"error: Refused to load {path}: it declares 40.0 GB of tensors, "
                                        "more than the 4.3 GB")


# Damaged checkpoints -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("case", "reason"), [
    (hm.checkpoint_unknown_architecture, "does not describe a model Workbench can use: unknown model "
                                         "'resnet9000'"),
    (hm.checkpoint_without_class_names, "is incomplete: no 'class_names'"),
    (hm.checkpoint_missing_weights, 'do not fit a small_cnn with 4 classes: Missing key(s) in state_dict: '
                                    '"head.2.weight"'),
])
def test_a_damaged_checkpoint_is_a_clear_error_in_predict_and_export(case, reason, trained_run, tmp_path,
                                                                      capsys, image):
    run = case(shutil.copytree(trained_run, tmp_path / "run"))
    code, _out, err = _cli(capsys, "predict", run, image)
    assert code == 1 and err.startswith("error: ") and reason in err, err
    code, _out, err = _cli(capsys, "export", run, "--format", "pt")
    assert code == 1 and err.startswith("error: ") and reason in err, err
    assert not (run / "exports").exists() or not any((run / "exports").iterdir())


def test_exporting_a_run_still_verifies_after_all_the_checks(trained_run, tmp_path):
    result = export_model(trained_run, "safetensors", out=tmp_path / "ok.safetensors")
    assert result.max_abs_diff <= 1e-4 and Predictor.load(result.path).image_size == 32
