"""Test-time augmentation: the prediction is the mean of the image's and its mirror image's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.engine.evaluation import evaluate, flip_tta_logits
from workbench.models import build_model
from workbench.predict import Predictor, softmax


class Images:
    """A validation source of fixed float images (evaluate only asks for batches)."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def batches(self, order, batch_size):
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            yield self.images[idx], self.labels[idx]


def test_tta_probabilities_are_the_mean_of_the_two_passes_and_score_the_final_evaluation():
    torch.manual_seed(0)
    model = build_model("small_cnn", 3).eval()
    x = torch.randn(6, 3, 32, 32)
    with torch.no_grad():
        expected = (torch.softmax(model(x), 1) + torch.softmax(model(torch.flip(x, dims=[3])), 1)) / 2
        got = torch.softmax(flip_tta_logits(model, x), 1)
    assert torch.allclose(got, expected, atol=1e-6)
    assert not torch.allclose(torch.softmax(model(x), 1), expected, atol=1e-3)  # the mirror did count

    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    result = evaluate(model, Images(x, labels), 4, lambda images: images, torch.nn.CrossEntropyLoss(),
                      torch.device("cpu"), False, collect=True, tta=True)
    assert torch.allclose(result["probabilities"], expected, atol=1e-6)
    nll = -expected[torch.arange(6), labels].log().mean().item()
    assert result["loss"] == pytest.approx(nll, rel=1e-5)
    assert result["predictions"] == expected.argmax(1).tolist()


def test_predictor_tta_is_the_mean_of_the_image_and_its_mirror(trained_run, tiny_data):
    predictor = Predictor.load(trained_run)
    paths = sorted(Path(tiny_data, "triangle").iterdir())[:3]
    arrays = [predictor.read_image(p) for p in paths]
    mirrored = [a[:, ::-1].copy() for a in arrays]
    t = predictor.temperature  # calibrated, as every prediction is
    expected = (softmax(predictor.logits(arrays) / t) + softmax(predictor.logits(mirrored) / t)) / 2
    np.testing.assert_allclose(predictor.probabilities(arrays, tta=True), expected, atol=1e-7)
    top = predictor.predict([str(p) for p in paths], top_k=1, tta=True)
    assert [t.top[0][1] for t in top] == pytest.approx(expected.max(1).tolist())
