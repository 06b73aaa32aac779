"""Predictor: a run folder or exported file → top-k classes, matching what training measured."""

import json
import pickle
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from workbench.config import TrainConfig
from workbench.data.augment import BatchAugmenter
from workbench.data.decode import decode_into, load_image
from workbench.data.prepare import split_samples
from workbench.data.scan import scan_image_folder
from workbench.engine.checkpoint import load_checkpoint
from workbench.model_files import detect_format
from workbench.models import WeightsError, build_model
from workbench.predict import Predictor, UnreadableImagesError, expand_image_paths


def _val_paths(run):
    config = TrainConfig.load_json(run / "config.json")
    _, val = split_samples(scan_image_folder(config.data_dir), config)
    return [p for p, _ in val], [label for _, label in val]


def _engine_logits(run, paths, which="best"):
    """The trained model's own outputs, through the engine's validation pipeline."""
    state = load_checkpoint(run / "checkpoints" / f"{which}.pt")
    model = build_model("small_cnn", len(state["class_names"]))
    model.load_state_dict(state["model"])
    images, kept, failed = decode_into(paths, state["image_size"], threads=1)
    assert not failed and len(kept) == len(paths)
    mean, std = state["normalization"]
    config = TrainConfig.from_dict(state["config"])
    x = BatchAugmenter(config.augment, mean, std)(images, train=False)
    with torch.no_grad():
        return model.eval()(x).numpy()


def test_run_folder_predictions_match_the_trained_model_and_the_reported_accuracy(trained_run):
    predictor = Predictor.load(trained_run)
    summary = json.loads((trained_run / "summary.json").read_text())
    assert predictor.class_names == summary["class_names"] and predictor.image_size == 32
    assert predictor.source == str(trained_run)
    paths, labels = _val_paths(trained_run)
    np.testing.assert_allclose(predictor.logits([_load(p) for p in paths]),
                               _engine_logits(trained_run, paths), atol=1e-5)
    results = predictor.predict(paths, top_k=1)
    accuracy = np.mean([predictor.class_names.index(r.top[0][0]) == y for r, y in zip(results, labels,
                                                                                          strict=True)])
    assert accuracy == pytest.approx(summary["final_val_acc"])  # best weights were restored at the end


def _load(path):
    return load_image(path, 32)


def test_top_k_is_sorted_probabilities_that_sum_to_one(trained_run):
    predictor = Predictor.load(trained_run, checkpoint="last")
    paths, _ = _val_paths(trained_run)
    [full] = predictor.predict(paths[:1], top_k=10)
    assert len(full.top) == 4 and sorted(n for n, _ in full.top) == predictor.class_names
    probs = [p for _, p in full.top]
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0)
    [two] = predictor.predict(paths[:1], top_k=2)
    assert two.top == full.top[:2]
    with pytest.raises(ValueError, match="top-k"):
        predictor.predict(paths[:1], top_k=0)


def test_pil_images_get_the_same_preprocessing_as_files(trained_run, tmp_path):
    predictor = Predictor.load(trained_run)
    # A wide photo-like image: the centre crop must be applied to PIL input too.
    wide = Image.effect_noise((90, 40), 60).convert("RGB")
    path = tmp_path / "wide.png"
    wide.save(path)
    [from_file] = predictor.predict([path])
    [from_pil] = predictor.predict([Image.open(path)])
    assert from_pil.top == from_file.top


def test_unreadable_images_are_skipped_and_listed(trained_run, tmp_path):
    predictor = Predictor.load(trained_run)
    paths, _ = _val_paths(trained_run)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    skipped = []
    results = predictor.predict([paths[0], broken, paths[1]], on_skip=lambda i, r: skipped.append((i, r)))
    assert [r.image for r in results] == [paths[0], paths[1]]
    assert skipped and skipped[0][0] == str(broken) and "could not be read" in skipped[0][1]
    with pytest.raises(UnreadableImagesError, match="broken.jpg"):
        predictor.predict([broken])


def test_folders_expand_to_their_images(tiny_data, tmp_path):
    files, missing = expand_image_paths([tiny_data / "circle", tmp_path / "nope", tmp_path])
    assert len(files) == 16 and all(f.parent.name == "circle" for f in files)
    assert [m[1] for m in missing] == ["does not exist", "folder contains no images"]


def test_checkpoint_file_loads_directly(trained_run):
    predictor = Predictor.load(trained_run / "checkpoints" / "best.pt")
    assert predictor.class_names == Predictor.load(trained_run).class_names


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "bare-pickle"])
def test_a_model_file_with_pickled_code_is_refused_and_never_runs(booby_trapped_model, legacy):
    path, marker = booby_trapped_model(legacy=legacy)
    assert detect_format(path) == "pt"
    with pytest.raises(WeightsError, match="Refused to load .*never pickled code"):
        Predictor.load(path)
    assert not marker.exists()
    # The trap is real: loading it the unsafe way runs the command.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if legacy:
            pickle.loads(path.read_bytes())
        else:
            torch.load(path, weights_only=False)
    assert marker.exists()


def test_not_a_model_and_missing_files_get_clear_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(WeightsError, match="not a model file"):
        Predictor.load(tmp_path / "notes.txt")
    with pytest.raises(WeightsError, match="does not exist"):
        Predictor.load(tmp_path / "missing.onnx")
    with pytest.raises(WeightsError, match="not a Workbench run folder"):
        Predictor.load(tmp_path)
