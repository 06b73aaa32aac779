"""Export: every format from a real short run, verified, reloadable as a user would, metadata kept."""

import json
import shutil
import warnings

import numpy as np
import onnx
import pytest
import torch

from workbench import __version__
from workbench.export import FORMATS, ExportError, default_export_path, export_model
from workbench.model_files import detect_format, metadata_path_for
from workbench.predict import Predictor


@pytest.fixture
def exports(exported_models):
    return exported_models


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_written_verified_and_recognised(exports, trained_run, fmt):
    result = exports[fmt]
    assert result.format == fmt and result.path.is_file()
    assert result.path.name == default_export_path(trained_run, fmt).name
    assert result.checked_on == "validation images" and result.images_checked == 8
    assert 0 <= result.max_abs_diff <= 1e-4
    assert detect_format(result.path) == fmt
    meta = json.loads(result.metadata_path.read_text())
    assert result.metadata_path == metadata_path_for(result.path)
    summary = json.loads((trained_run / "summary.json").read_text())
    assert meta["class_names"] == summary["class_names"]
    assert meta["image_size"] == 32 and meta["architecture"] == "small_cnn"
    assert meta["mean"] == [0.5, 0.5, 0.5] and meta["std"] == [0.5, 0.5, 0.5]
    assert meta["workbench_version"] == __version__ and meta["source_run"] == str(trained_run.resolve())
    assert meta["checkpoint"] == "best" and meta["epoch"] == summary["best_epoch"]


def test_metadata_also_travels_inside_the_files_that_allow_it(exports):
    from safetensors import safe_open

    with safe_open(str(exports["safetensors"].path), framework="pt") as fh:
        header = json.loads(fh.metadata()["workbench"])
    props = {p.key: p.value for p in onnx.load(str(exports["onnx"].path)).metadata_props}
    extra = {"workbench.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.load(str(exports["torchscript"].path), _extra_files=extra)
    for embedded in (header, json.loads(props["workbench"]), json.loads(extra["workbench.json"])):
        assert embedded["class_names"] == ["circle", "square", "star", "triangle"]
        assert embedded["image_size"] == 32
    # Without the file beside it, each self-describing format still loads for predictions.
    for fmt in ("safetensors", "torchscript", "onnx"):
        result = exports[fmt]
        moved = result.path.parent / "alone" / result.path.name
        moved.parent.mkdir(exist_ok=True)
        shutil.copy(result.path, moved)
        assert Predictor.load(moved).class_names == header["class_names"]


def test_every_export_predicts_like_the_run(exports, trained_run, tiny_data):
    images = sorted(tiny_data.glob("*/*.jpg"))[::5]
    reference = Predictor.load(trained_run)
    arrays = [np.asarray(reference.read_image(p)) for p in images]
    expected = reference.logits(arrays)
    for fmt, result in exports.items():
        predictor = Predictor.load(result.path)
        assert predictor.format == fmt
        np.testing.assert_allclose(predictor.logits(arrays), expected, atol=1e-4, err_msg=fmt)


def test_onnx_batch_axis_is_dynamic(exports):
    import onnxruntime as ort

    session = ort.InferenceSession(str(exports["onnx"].path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] not in (1, 2)  # a named, free dimension
    for n in (1, 3, 7):
        assert session.run(None, {"input": np.zeros((n, 3, 32, 32), np.float32)})[0].shape == (n, 4)


def test_last_checkpoint_and_out_file_name(trained_run, tmp_path):
    result = export_model(trained_run, "safetensors", checkpoint="last", out=tmp_path / "mine.safetensors")
    assert result.path == tmp_path / "mine.safetensors"
    assert json.loads(result.metadata_path.read_text())["checkpoint"] == "last"
    assert result.metadata_path == tmp_path / "mine.safetensors.json"


def test_export_without_the_data_folder_checks_random_images_and_says_so(trained_run, tmp_path):
    run = tmp_path / "moved-run"
    shutil.copytree(trained_run, run)
    config = json.loads((run / "config.json").read_text())
    config["data_dir"] = str(tmp_path / "deleted-images")
    (run / "config.json").write_text(json.dumps(config))
    # The checkpoint holds its own copy of the config: make it point to the missing folder too.
    state = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
    state["config"]["data_dir"] = config["data_dir"]
    torch.save(state, run / "checkpoints" / "best.pt")
    result = export_model(run, "pt")
    assert "data folder is gone" in result.checked_on and result.max_abs_diff <= 1e-4


def test_a_mismatch_is_an_error_and_leaves_no_file(trained_run, tmp_path, monkeypatch):
    import workbench.export as export

    def corrupt(model, weights, meta, path):
        weights = {k: (v + 0.01 if k == "head.2.bias" else v) for k, v in weights.items()}
        export._write_state_dict(model, weights, meta, path)

    monkeypatch.setitem(export._WRITERS, "pt", corrupt)
    with pytest.raises(ExportError, match="disagrees with the trained model"):
        export_model(trained_run, "pt", out=tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists() and not (tmp_path / "bad.pt.json").exists()


def test_bad_requests_are_refused_with_the_reason(trained_run, tmp_path, booby_trapped_model):
    with pytest.raises(ExportError, match="unknown format 'keras'"):
        export_model(trained_run, "keras")
    with pytest.raises(ExportError, match="best or last"):
        export_model(trained_run, "pt", checkpoint="final")
    with pytest.raises(ExportError, match="not a Workbench run folder"):
        export_model(tmp_path, "pt")
    run = tmp_path / "trapped"
    shutil.copytree(trained_run, run)
    evil, marker = booby_trapped_model()
    shutil.copy(evil, run / "checkpoints" / "best.pt")
    with pytest.raises(ExportError, match="Refused to load .*never pickled code"):
        export_model(run, "onnx")
    assert not marker.exists()
    (run / "checkpoints" / "last.pt").unlink()
    with pytest.raises(ExportError, match="no last checkpoint"):
        export_model(run, "pt", checkpoint="last")


def test_formats_are_recognised_by_contents_not_names(exports, tmp_path):
    disguises = {"torchscript": "looks-like-weights.pt", "pt": "looks-like-script.torchscript.pt",
                 "onnx": "model.bin", "safetensors": "model.weights"}
    for fmt, name in disguises.items():
        copy = tmp_path / name
        shutil.copy(exports[fmt].path, copy)
        shutil.copy(exports[fmt].metadata_path, metadata_path_for(copy))
        assert detect_format(copy) == fmt, name
        assert Predictor.load(copy).format == fmt
