"""`workbench export`, `predict` and `runs` in a fresh process, as a user runs them."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from workbench.predict import Predictor, softmax
from workbench.runs import list_runs


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_export_writes_the_file_and_says_how_it_was_checked(trained_run, tmp_path):
    done = _cli("export", trained_run, "--format", "torchscript", "--checkpoint", "last", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / f"{trained_run.name}-last.torchscript.pt"
    assert path.is_file() and (tmp_path / (path.name + ".json")).is_file()
    assert f"Exported torchscript to {path}" in done.stdout
    assert "verified on 8 validation images: max abs difference" in done.stdout


def test_predict_json_matches_the_models_own_predictions(exported_models, trained_run, tiny_data, tmp_path):
    images = [tiny_data / "circle", tiny_data / "star" / "star_000.jpg"]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    done = _cli("predict", exported_models["onnx"].path, *images, broken, tmp_path / "missing.jpg",
                "--top-k", "2", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    files = sorted((tiny_data / "circle").glob("*.jpg")) + [tiny_data / "star" / "star_000.jpg"]
    assert [p["image"] for p in out["predictions"]] == [str(f) for f in files]
    reference = Predictor.load(trained_run)
    # Calibrated: the run's temperature travelled in the ONNX file's metadata.
    assert out["temperature"] == reference.temperature != 1.0
    logits = reference.logits([reference.read_image(f) for f in files])
    probabilities = softmax(logits / reference.temperature)
    for prediction, row in zip(out["predictions"], probabilities, strict=True):
        best = np.argsort(-row)[:2]
        assert [t["class"] for t in prediction["top"]] == [reference.class_names[i] for i in best]
        assert [t["probability"] for t in prediction["top"]] == pytest.approx(row[best], abs=1e-5)
        assert prediction["unsure"] == (row[best[0]] < out["unsure_below"])
        assert prediction["runner_up"]["class"] == prediction["top"][1]["class"]
    assert {s["image"] for s in out["skipped"]} == {str(broken), str(tmp_path / "missing.jpg")}
    assert "broken.png: could not be read" in done.stderr


def test_predict_text_shows_top_k_per_image(trained_run, tiny_data):
    image = tiny_data / "square" / "square_000.jpg"
    done = _cli("predict", trained_run, image, "--top-k", "3", "--unsure-below", "0")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == str(image) and len(lines) == 4
    [expected] = Predictor.load(trained_run).predict([image], top_k=3)
    for line, (name, probability) in zip(lines[1:], expected.top, strict=True):
        assert line.split()[1] == name and line.split()[2] == f"{probability:.2%}"


def test_predict_marks_unsure_predictions_with_the_runner_up(trained_run, tiny_data):
    images = sorted((tiny_data / "star").glob("*.jpg"))[:4]
    done = _cli("predict", trained_run, *images, "--top-k", "1", "--unsure-below", "1")
    assert done.returncode == 0, done.stderr
    headers = [line for line in done.stdout.splitlines() if not line.startswith(" ")]
    predictions = Predictor.load(trained_run).predict(images, top_k=1, unsure_below=1.0)
    assert len(headers) == len(predictions) == 4
    for header, p in zip(headers, predictions, strict=True):  # nothing is 100 % sure
        name, probability = p.runner_up
        assert p.unsure and p.top[0][1] >= probability
        assert header == f"{p.image}  [unsure: below 100%; runner-up {name} {probability:.2%}]"
    sure = _cli("predict", trained_run, images[0], "--unsure-below", "0", "--json")
    assert json.loads(sure.stdout)["predictions"][0]["unsure"] is False
    refused = _cli("predict", trained_run, images[0], "--unsure-below", "1.5")
    assert refused.returncode == 2 and "--unsure-below must be between 0 and 1" in refused.stderr


def test_predict_tta_averages_each_image_with_its_mirror(trained_run, tiny_data):
    image = tiny_data / "star" / "star_001.jpg"
    done = _cli("predict", trained_run, image, "--top-k", "4", "--tta", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["tta"] is True
    reference = Predictor.load(trained_run)
    array = reference.read_image(image)
    t = reference.temperature  # calibrated, as every prediction is
    mirrored = array[:, ::-1].copy()
    expected = (softmax(reference.logits([array]) / t) + softmax(reference.logits([mirrored]) / t)) / 2
    got = {t["class"]: t["probability"] for t in out["predictions"][0]["top"]}
    assert [got[name] for name in reference.class_names] == pytest.approx(expected[0], abs=1e-6)


def test_predict_with_nothing_readable_fails_and_lists_why(trained_run, tmp_path):
    done = _cli("predict", trained_run, tmp_path / "missing.jpg")
    assert done.returncode == 1
    assert "missing.jpg: does not exist" in done.stderr
    assert "error: no image could be predicted" in done.stderr
    assert "Traceback" not in done.stderr


def test_predict_refuses_a_model_file_with_pickled_code(booby_trapped_model, tiny_data):
    path, marker = booby_trapped_model("model.pt")
    done = _cli("predict", path, tiny_data / "star")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: Refused to load") and "never pickled code" in done.stderr
    assert not marker.exists()


def test_export_errors_are_one_line(tmp_path):
    done = _cli("export", tmp_path, "--format", "onnx")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"error: {tmp_path} is not a Workbench run folder "
                                   "(no config.json and checkpoints/)")


def test_the_cli_offers_every_export_format():
    from workbench.cli_tools import EXPORT_FORMATS
    from workbench.export import FORMATS

    assert EXPORT_FORMATS == FORMATS


def test_runs_lists_the_runs_folder(trained_run, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(trained_run, root / "first")
    (root / "not-a-run").mkdir()
    done = _cli("runs", "--runs-dir", root)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "DATE", "MODEL", "DATASET", "EPOCHS", "BEST", "STATUS"]
    [info] = list_runs(root)
    assert row.split()[0] == "first" and row.split()[3:6] == ["small_cnn", "tiny_data0", "2"]
    assert f"val_loss {info.best_value:.4f}" in row and row.endswith("finished")
    listed = json.loads(_cli("runs", "--runs-dir", root, "--json").stdout)
    assert [(r["name"], r["epochs_run"], r["status"]) for r in listed] == [("first", 2, "finished")]
    assert _cli("runs", "--runs-dir", tmp_path / "nope").stderr.startswith("error: ")
