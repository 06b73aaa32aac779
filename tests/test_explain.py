"""Grad-CAM heat maps (workbench.explain): their size, their class, and where they point."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from workbench.explain import (
    Explainer,
    ExplainError,
    colormap,
    feature_map_layer,
    overlay,
    overlay_file_names,
)
from workbench.models import build_model
from workbench.predict import Predictor

SIZE = 64
PATCH = 24


def _patch_image(rng, colour, box):
    """Grey noise with one solid square: its colour is the class, its place is random."""
    image = rng.integers(70, 186, (SIZE, SIZE, 3), dtype=np.uint8)
    top, left = box
    image[top:top + PATCH, left:left + PATCH] = colour
    return image


COLOURS = {"blue": (30, 60, 230), "red": (230, 40, 30)}


class _TinyNet(torch.nn.Module):
    """Three conv blocks down to a 16 × 16 map at 64 px, then global max pooling and a linear head."""

    def __init__(self):
        super().__init__()

        def block(cin, cout, pool):
            layers = [torch.nn.Conv2d(cin, cout, 3, padding=1), torch.nn.BatchNorm2d(cout), torch.nn.ReLU()]
            return torch.nn.Sequential(*layers, *([torch.nn.MaxPool2d(2)] if pool else []))

        self.features = torch.nn.Sequential(block(3, 16, True), block(16, 32, True), block(32, 32, False))
        self.head = torch.nn.Sequential(torch.nn.AdaptiveMaxPool2d(1), torch.nn.Flatten(),
                                        torch.nn.Linear(32, len(COLOURS)))

    def forward(self, x):
        return self.head(self.features(x))


MEAN = STD = [0.5, 0.5, 0.5]


@pytest.fixture(scope="module")
def patch_explainer():
    """A tiny CNN trained briefly (deterministically) on images whose class is the colour of one
    square patch at a random place."""
    from workbench.predict import to_model_input

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images, labels = [], []
    for i in range(64):
        label = i % 2
        box = tuple(rng.integers(0, SIZE - PATCH, 2))
        images.append(_patch_image(rng, list(COLOURS.values())[label], box))
        labels.append(label)
    x, y = torch.from_numpy(to_model_input(images, MEAN, STD)), torch.tensor(labels)
    model = _TinyNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _epoch in range(4):
        for start in range(0, len(x), 16):
            loss = torch.nn.functional.cross_entropy(model(x[start:start + 16]), y[start:start + 16])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return Explainer(model, SIZE, MEAN, STD, list(COLOURS))


def test_heat_lies_mostly_inside_the_patch_that_decides_the_class(patch_explainer):
    assert patch_explainer.layer_name == "features"
    rng = np.random.default_rng(123)  # new images, patches in new places
    fractions = []
    for i in range(8):
        name = list(COLOURS)[i % 2]
        top, left = rng.integers(0, SIZE - PATCH, 2)
        image = _patch_image(rng, COLOURS[name], (top, left))
        heat = patch_explainer.heat_map(image, name)
        assert heat.shape == (SIZE, SIZE) and heat.max() == pytest.approx(1.0)
        fractions.append(heat[top:top + PATCH, left:left + PATCH].sum() / heat.sum())
    # The patch is 14 % of the image: chance would put 14 % of the heat there.
    assert np.median(fractions) > 0.5, fractions


def test_heat_map_has_the_image_size_and_depends_on_the_class_asked(patch_explainer):
    rng = np.random.default_rng(5)
    image = _patch_image(rng, COLOURS["red"], (4, 30))
    big = np.asarray(Image.fromarray(image).resize((150, 150)))
    red, blue = patch_explainer.heat_map(big, "red"), patch_explainer.heat_map(big, "blue")
    assert red.shape == blue.shape == (150, 150) and red.dtype == np.float32
    assert 0 <= red.min() and red.max() <= 1
    assert np.abs(red - blue).mean() > 0.05
    with pytest.raises(ExplainError, match="no class 'green'"):
        patch_explainer.heat_map(image, "green")


def test_a_trained_run_explains_its_images_at_their_size(trained_run, tiny_data):
    explainer = Explainer.for_model(Predictor.load(trained_run))
    path = next((tiny_data / explainer.class_names[0]).iterdir())
    overlay_, index = explainer.overlay_of_file(path, size=48)
    assert overlay_.shape == (48, 48, 3) and 0 <= index < len(explainer.class_names)
    assert explainer.overlay_of_file(path)[0].shape == (32, 32, 3)  # the file's own size


@pytest.mark.parametrize(("name", "size", "layer"), [
    ("small_cnn", 32, "features"), ("resnet18", 64, "layer4"), ("timm:resnet10t", 64, "layer4"),
    ("timm:test_vit", 64, "patch_embed.proj"),  # a transformer: its patch embedding is the map
])
def test_the_target_layer_is_the_last_spatial_feature_map(name, size, layer):
    model = build_model(name, 3, image_size=size, log=lambda m: None)
    assert feature_map_layer(model, size)[0] == layer


def test_colormap_and_overlay():
    assert colormap(np.array([0.0]))[0].tolist() == [0, 0, 128]  # cold: dark blue
    assert colormap(np.array([1.0]))[0].tolist() == [128, 0, 0]  # hot: dark red
    image = np.full((4, 4, 3), 200, np.uint8)
    heat = np.zeros((4, 4), np.float32)
    heat[0, 0] = 1
    out = overlay(image, heat)
    assert out.shape == image.shape and out.dtype == np.uint8
    # More colour where it is hot: the hot pixel moved further from the image than a cold one.
    assert np.abs(out[0, 0].astype(int) - 200).sum() > np.abs(out[3, 3].astype(int) - 200).sum()
    with pytest.raises(ValueError, match="does not match"):
        overlay(image, np.zeros((2, 2)))


def test_overlay_file_names_never_collide():
    assert overlay_file_names(["a/x.jpg", "b/x.png", "x-2.jpg", "y.jpg"]) == [
        "x.heatmap.png", "x-2.heatmap.png", "x-2-2.heatmap.png", "y.heatmap.png"]
