"""BatchAugmenter and its pieces, checked against torchvision.transforms.v2.functional.

Both ``warp_affine`` and torchvision's ``affine`` resample with ``grid_sample`` (bilinear,
``align_corners=False``) at the same points, so with the same parameters they agree to float
rounding (~1e-6), not just approximately; the tolerances below are set from that.
"""

from __future__ import annotations

import math

import pytest
import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from workbench.config import AugmentConfig
from workbench.data.augment import (
    AffineParams,
    BatchAugmenter,
    affine_grid,
    affine_matrices,
    jitter_colour,
    warp_affine,
)

S = 32
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
NO_COLOUR = dict(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0)
NO_GEOMETRY = dict(horizontal_flip=False, vertical_flip=False, rotation_range=0.0, width_shift_range=0.0,
                   height_shift_range=0.0, shear_range=0.0, zoom_range=0.0, random_resized_crop=False)


def params(n: int = 1, **overrides) -> AffineParams:
    """Identity parameters for ``n`` images, with ``overrides`` (scalars or [n] tensors)."""
    values = dict(angle=0.0, translate_x=0.0, translate_y=0.0, shear=0.0, zoom_x=1.0, zoom_y=1.0,
                  flip_x=False, flip_y=False, crop_w=1.0, crop_h=1.0, crop_cx=0.0, crop_cy=0.0)
    values.update(overrides)
    return AffineParams(**{k: v if isinstance(v, torch.Tensor) else torch.full((n,), v)
                           for k, v in values.items()})


def smooth_image(n: int = 1, size: int = S) -> torch.Tensor:
    """A smooth, asymmetric float image batch in [0.1, 0.9]."""
    yy, xx = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    one = torch.stack([0.5 + 0.4 * torch.sin(xx / 5 + 0.3),
                       0.5 + 0.4 * torch.cos(yy / 4),
                       0.1 + 0.8 * (xx + 2 * yy) / (3 * (size - 1))])
    return torch.stack([one.roll(i, dims=-1) for i in range(n)])


def random_float(n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, S, S, generator=torch.Generator().manual_seed(seed))


def random_uint8(n: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, S, S), dtype=torch.uint8, generator=gen(seed))


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- BatchAugmenter -----------------------------------------------------------------------------


@pytest.mark.parametrize("train", [True, False])
def test_output_shape_and_dtype(train):
    images = random_uint8(5)
    before = images.clone()
    out = BatchAugmenter(AugmentConfig(), MEAN, STD)(images, gen(), train=train)
    assert out.dtype == torch.float32
    assert out.shape == (5, 3, S, S)
    assert torch.isfinite(out).all()
    assert torch.equal(images, before)  # the uint8 input is not modified


def test_eval_is_pure_normalisation():
    images = random_uint8(3)
    cfg = AugmentConfig(rotation_range=45, brightness=0.5, hue=0.3)
    out = BatchAugmenter(cfg, MEAN, STD)(images, gen(), train=False)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    # 1e-5: float32 allows a few ulp (2.4e-7 at |x| ≈ 2.6) between orders of the same arithmetic; it
    # measured 4.8e-7 against the 1e-6 once used, too close for another CPU's kernels.
    torch.testing.assert_close(out, (images.float() / 255 - mean) / std, atol=1e-5, rtol=0)


def test_disabled_augmentation_in_training_is_pure_normalisation():
    images = random_uint8(3)
    aug = BatchAugmenter(AugmentConfig(enabled=False), MEAN, STD)
    torch.testing.assert_close(aug(images, gen(), train=True), aug(images, gen(), train=False))


def test_train_output_is_normalised_augment():
    images = random_uint8(3)
    aug = BatchAugmenter(AugmentConfig(), MEAN, STD)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    expected = (aug.augment(images, gen(4)) - mean) / std
    torch.testing.assert_close(aug(images, gen(4), train=True), expected)


@pytest.mark.parametrize("fill_mode", ["nearest", "constant", "reflect", "wrap"])
def test_train_output_is_normalised_augment_for_every_option(fill_mode):
    # __call__ augments raw 0..255 values and normalises in one multiply-add; augment() works in
    # [0, 1]. Same draws, same result: colour clamps, fill values and every fill mode included.
    cfg = AugmentConfig(rotation_range=40, shear_range=20, zoom_range=0.3, width_shift_range=0.2,
                        random_resized_crop=True, vertical_flip=True, brightness=0.5, contrast=0.5,
                        saturation=0.5, hue=0.2, fill_mode=fill_mode, fill_value=200)
    images = random_uint8(6)
    aug = BatchAugmenter(cfg, MEAN, STD)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    expected = (aug.augment(images, gen(5)) - mean) / std
    torch.testing.assert_close(aug(images, gen(5), train=True), expected, atol=2e-5, rtol=0)


@pytest.mark.parametrize(
    "options",
    [dict(NO_COLOUR, rotation_range=30.0, horizontal_flip=False, width_shift_range=0.0,
          height_shift_range=0.0, zoom_range=0.0),
     dict(NO_GEOMETRY, brightness=0.4),
     dict()],
    ids=["rotation-only", "brightness-only", "defaults"],
)
def test_each_image_gets_its_own_draw(options):
    one = random_uint8(1)
    images = one.repeat(2, 1, 1, 1)
    out = BatchAugmenter(AugmentConfig(**options), MEAN, STD).augment(images, gen(1))
    assert (out[0] - out[1]).abs().max() > 0.01


def test_same_seed_same_output_other_seed_differs():
    images = random_uint8(4)
    aug = BatchAugmenter(AugmentConfig(shear_range=10, random_resized_crop=True, hue=0.1), MEAN, STD)
    a = aug(images, gen(123))
    b = aug(images, gen(123))
    c = aug(images, gen(124))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_sampled_parameters_stay_in_their_ranges():
    cfg = AugmentConfig(rotation_range=15, width_shift_range=0.1, height_shift_range=0.2, shear_range=5,
                        zoom_range=0.1, horizontal_flip=True, vertical_flip=False,
                        random_resized_crop=True, crop_scale_min=0.5)
    p = BatchAugmenter(cfg, MEAN, STD).sample_affine(2000, gen())
    assert p.angle.abs().max() <= 15 and p.angle.abs().max() > 14
    assert p.translate_x.abs().max() <= 0.1 and p.translate_y.abs().max() <= 0.2
    assert p.shear.abs().max() <= 5
    for z in (p.zoom_x, p.zoom_y):
        assert z.min() >= 0.9 and z.max() <= 1.1
    assert 0.4 < p.flip_x.float().mean() < 0.6
    assert not p.flip_y.any()
    assert (p.crop_w <= 1).all() and (p.crop_h <= 1).all()
    assert (p.crop_w * p.crop_h >= 0.5 - 1e-6).all()  # area never below crop_scale_min
    # The crop window stays inside the image.
    assert (p.crop_cx.abs() <= 1 - p.crop_w + 1e-6).all() and (p.crop_cy.abs() <= 1 - p.crop_h + 1e-6).all()

    b, c, s, h = BatchAugmenter(AugmentConfig(brightness=0.2, contrast=0.3, saturation=0.4, hue=0.05),
                                MEAN, STD).sample_colour(2000, gen())
    for factor, amount in ((b, 0.2), (c, 0.3), (s, 0.4)):
        assert factor.min() >= 1 - amount and factor.max() <= 1 + amount
    assert h.abs().max() <= 0.05


@pytest.mark.parametrize("fill_mode", ["nearest", "constant", "reflect", "wrap"])
def test_values_stay_in_unit_range(fill_mode):
    cfg = AugmentConfig(rotation_range=40, shear_range=20, zoom_range=0.3, random_resized_crop=True,
                        vertical_flip=True, brightness=0.5, contrast=0.5, saturation=0.5, hue=0.2,
                        fill_mode=fill_mode, fill_value=200)
    out = BatchAugmenter(cfg, MEAN, STD).augment(random_uint8(24), gen())
    assert out.dtype == torch.float32
    # 1e-6 of slack: the constant fill adds and subtracts the fill value, which can round a
    # 0 to -6e-8.
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6


# --- warp_affine geometry -----------------------------------------------------------------------


@pytest.mark.parametrize("fill_mode", ["nearest", "constant", "reflect", "wrap"])
def test_identity_params_reproduce_input(fill_mode):
    x = random_float(3)
    # Sampling coordinates round to ~1e-7, times pixel-to-pixel steps of up to 1 in random noise
    # (measured 3.2e-6): 1e-4 leaves margin and is still a 40th of one uint8 level.
    torch.testing.assert_close(warp_affine(x, params(3), fill_mode, 0.5), x, atol=1e-4, rtol=0)
    torch.testing.assert_close(affine_matrices(params(3)), torch.eye(3)[:2].expand(3, 2, 3))


def _reference_affine_matrices(p: AffineParams) -> torch.Tensor:
    """The transform spelled out as 3×3 matrices, composed and inverted in float64."""
    n = p.angle.shape[0]
    a, s = torch.deg2rad(p.angle.double()), torch.deg2rad(p.shear.double())

    def mat(m00, m01, m02, m10, m11, m12):
        m = torch.eye(3, dtype=torch.float64).repeat(n, 1, 1)
        for (i, j), v in zip([(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)],
                             [m00, m01, m02, m10, m11, m12], strict=True):
            m[:, i, j] = torch.as_tensor(v, dtype=torch.float64)
        return m

    one, zero = torch.ones(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)
    flip = mat(torch.where(p.flip_x, -one, one), zero, zero, zero, torch.where(p.flip_y, -one, one), zero)
    zoom = mat(p.zoom_x.double(), zero, zero, zero, p.zoom_y.double(), zero)
    shear = mat(one, -torch.tan(s), zero, zero, one, zero)
    rotate = mat(torch.cos(a), -torch.sin(a), zero, torch.sin(a), torch.cos(a), zero)
    shift = mat(one, zero, 2 * p.translate_x.double(), zero, one, 2 * p.translate_y.double())
    crop = mat(p.crop_w.double(), zero, p.crop_cx.double(), zero, p.crop_h.double(), p.crop_cy.double())
    forward = shift @ rotate @ shear @ zoom @ flip
    return (torch.linalg.inv(forward) @ crop)[:, :2, :].float()


def test_closed_form_matrices_equal_the_composed_inverse():
    cfg = AugmentConfig(rotation_range=45, width_shift_range=0.2, height_shift_range=0.1, shear_range=20,
                        zoom_range=0.3, horizontal_flip=True, vertical_flip=True,
                        random_resized_crop=True, crop_scale_min=0.3)
    p = BatchAugmenter(cfg, MEAN, STD).sample_affine(500, gen(3))
    torch.testing.assert_close(affine_matrices(p), _reference_affine_matrices(p), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("height,width", [(32, 32), (17, 40)])
def test_affine_grid_equals_torch_affine_grid(height, width):
    theta = torch.randn(5, 2, 3, generator=gen(7))
    ref = torch.nn.functional.affine_grid(theta, [5, 3, height, width], align_corners=False)
    # Coordinates of a few units: float32 ulps of ~2.4e-7 (measured 4.8e-7); 1e-5 is far below a pixel.
    torch.testing.assert_close(affine_grid(theta, height, width), ref, atol=1e-5, rtol=1e-6)


def test_identity_colour_reproduces_input():
    x = random_float(3)
    one = torch.ones(3)
    torch.testing.assert_close(jitter_colour(x.clone(), one, one, one, torch.zeros(3)), x, atol=1e-5, rtol=0)


def test_horizontal_flip_matches_torchvision():
    x = random_float(2)
    out = warp_affine(x, params(2, flip_x=True), "nearest")
    torch.testing.assert_close(out, TF.horizontal_flip(x), atol=1e-5, rtol=0)


def test_vertical_flip_matches_torchvision():
    x = random_float(2)
    out = warp_affine(x, params(2, flip_y=True), "nearest")
    torch.testing.assert_close(out, TF.vertical_flip(x), atol=1e-5, rtol=0)


def test_flip_is_per_image():
    x = random_float(2)
    out = warp_affine(x, params(2, flip_x=torch.tensor([True, False])), "nearest")
    torch.testing.assert_close(out[0], TF.horizontal_flip(x[0]), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[1], x[1], atol=1e-5, rtol=0)


def test_rotation_is_clockwise_like_torchvision_affine():
    x = smooth_image()
    ours = warp_affine(x, params(angle=30.0), "constant", 0.0)
    ref = TF.affine(x, angle=30.0, translate=[0, 0], scale=1.0, shear=[0.0, 0.0],
                    interpolation=InterpolationMode.BILINEAR)
    inner = (..., slice(6, -6), slice(6, -6))
    # Same bilinear sampling at the same points: equal up to float rounding of the coordinates.
    assert (ours - ref)[inner].abs().mean() < 1e-4
    torch.testing.assert_close(ours[inner], ref[inner], atol=1e-4, rtol=0)
    # Both pad with zeros, so the corners agree too.
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=0)
    # The opposite direction is far off: the test can tell the conventions apart.
    other = TF.affine(x, angle=-30.0, translate=[0, 0], scale=1.0, shear=[0.0, 0.0],
                      interpolation=InterpolationMode.BILINEAR)
    assert (ours - other)[inner].abs().mean() > 0.05


def test_full_affine_matches_torchvision_affine():
    # torchvision composes translate ∘ rotate ∘ scale ∘ shear_x about the centre, as we do; on a
    # square image our fractional shifts are translate / size pixels.
    x = smooth_image(2)
    ours = warp_affine(x, params(2, angle=20.0, translate_x=3 / S, translate_y=-2 / S, zoom_x=1.2,
                                 zoom_y=1.2, shear=10.0), "constant", 0.0)
    ref = TF.affine(x, angle=20.0, translate=[3, -2], scale=1.2, shear=[10.0, 0.0],
                    interpolation=InterpolationMode.BILINEAR)
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=0)


def test_translation_moves_right_and_down():
    x = smooth_image()
    out = warp_affine(x, params(translate_x=4 / S, translate_y=2 / S), "constant")
    torch.testing.assert_close(out[..., 2:, 4:], x[..., :-2, :-4], atol=1e-5, rtol=0)


def test_zoom_above_one_magnifies():
    x = smooth_image()
    out = warp_affine(x, params(zoom_x=2.0, zoom_y=2.0), "constant")
    ref = TF.affine(x, angle=0.0, translate=[0, 0], scale=2.0, shear=[0.0, 0.0],
                    interpolation=InterpolationMode.BILINEAR)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=0)


def test_crop_window_is_stretched_to_fill_output():
    # The right half of the image (centre x = +0.5 in [-1, 1], width fraction 0.5), stretched.
    x = smooth_image()
    out = warp_affine(x, params(crop_w=0.5, crop_cx=0.5), "nearest")
    ref = torch.nn.functional.interpolate(x[..., S // 2:], size=(S, S), mode="bilinear", align_corners=False)
    # Edge columns differ only because interpolate clamps at the crop edge and we see the neighbour.
    torch.testing.assert_close(out[..., 1:-1], ref[..., 1:-1], atol=1e-5, rtol=0)


# --- fill modes ---------------------------------------------------------------------------------

K = 4  # shift in whole pixels: every output pixel samples an exact pixel centre


def test_fill_constant_uses_fill_value():
    x = smooth_image()
    out = warp_affine(x, params(translate_x=K / S), "constant", 100 / 255)
    torch.testing.assert_close(out[..., :K], torch.full_like(out[..., :K], 100 / 255), atol=1e-6, rtol=0)
    torch.testing.assert_close(out[..., K:], x[..., :-K], atol=1e-5, rtol=0)


def test_fill_constant_zero():
    out = warp_affine(smooth_image(), params(translate_y=-K / S), "constant", 0.0)
    assert out[..., -K:, :].abs().max() < 1e-6


def test_fill_value_reaches_warp_through_config():
    cfg = AugmentConfig(**NO_COLOUR, **dict(NO_GEOMETRY, zoom_range=0.5), fill_mode="constant",
                        fill_value=255)
    images = torch.zeros(8, 3, S, S, dtype=torch.uint8)
    out = BatchAugmenter(cfg, MEAN, STD).augment(images, gen())
    # Zoomed-out images show the fill (white) around a black centre; zoomed-in ones stay black.
    assert out.max() == pytest.approx(1.0, abs=1e-6)
    assert out[:, :, S // 2, S // 2].abs().max() < 1e-6


def test_fill_nearest_repeats_edge_pixels():
    x = smooth_image()
    out = warp_affine(x, params(translate_x=K / S), "nearest")
    torch.testing.assert_close(out[..., :K], x[..., :1].expand(-1, -1, -1, K), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[..., K:], x[..., :-K], atol=1e-5, rtol=0)


def test_fill_reflect_mirrors_about_the_edge():
    x = smooth_image()
    out = warp_affine(x, params(translate_x=K / S), "reflect")
    # Keras/scipy "reflect": d c b a | a b c d  ->  output column j < K shows input column K-1-j.
    torch.testing.assert_close(out[..., :K], x[..., :K].flip(-1), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[..., K:], x[..., :-K], atol=1e-5, rtol=0)


@pytest.mark.parametrize("shift", [S // 2, K, -K])
def test_fill_wrap_whole_pixel_shift_is_roll(shift):
    x = smooth_image()
    out = warp_affine(x, params(translate_x=shift / S), "wrap")
    torch.testing.assert_close(out, torch.roll(x, shift, dims=-1), atol=1e-5, rtol=0)
    out = warp_affine(x, params(translate_y=shift / S), "wrap")
    torch.testing.assert_close(out, torch.roll(x, shift, dims=-2), atol=1e-5, rtol=0)


@pytest.mark.parametrize("p", [dict(translate_x=0.1 + 0.3 / S), dict(angle=10.0)], ids=["subpixel", "rotate"])
def test_fill_wrap_keeps_a_flat_image_flat(p):
    flat = torch.full((1, 3, S, S), 0.7)
    out = warp_affine(flat, params(**p), "wrap")
    torch.testing.assert_close(out, flat, atol=1e-4, rtol=0)


@pytest.mark.parametrize("fill_mode", ["nearest", "reflect"])
def test_flat_image_stays_flat_under_rotation(fill_mode):
    flat = torch.full((1, 3, S, S), 0.7)
    out = warp_affine(flat, params(angle=10.0, translate_x=0.13), fill_mode)
    torch.testing.assert_close(out, flat, atol=1e-5, rtol=0)


# --- colour -------------------------------------------------------------------------------------


def colour_only(x: torch.Tensor, brightness=None, contrast=None, saturation=None) -> torch.Tensor:
    n = x.shape[0]
    one = torch.ones(n)
    return jitter_colour(x.clone(),
                         one if brightness is None else torch.as_tensor(brightness, dtype=torch.float32),
                         one if contrast is None else torch.as_tensor(contrast, dtype=torch.float32),
                         one if saturation is None else torch.as_tensor(saturation, dtype=torch.float32),
                         torch.zeros(n))


FACTORS = [0.6, 1.4]  # one per image: each image gets its own factor
# Against torchvision, contrast and saturation differ by |1 - factor| × 1e-4 × red at most, from its
# 0.2989 red luma weight (ours: ITU-R 601's 0.299), e.g. 4e-5 for 0.6: 1e-4 keeps 2.5× margin.


def test_brightness_matches_torchvision():
    x = random_float(2)
    out = colour_only(x, brightness=FACTORS)
    for i, f in enumerate(FACTORS):
        torch.testing.assert_close(out[i], TF.adjust_brightness(x[i], f), atol=1e-4, rtol=0)


def test_contrast_matches_torchvision():
    x = random_float(2)
    out = colour_only(x, contrast=FACTORS)
    for i, f in enumerate(FACTORS):
        torch.testing.assert_close(out[i], TF.adjust_contrast(x[i], f), atol=1e-4, rtol=0)


def test_saturation_matches_torchvision():
    x = random_float(2)
    out = colour_only(x, saturation=FACTORS)
    for i, f in enumerate(FACTORS):
        torch.testing.assert_close(out[i], TF.adjust_saturation(x[i], f), atol=1e-4, rtol=0)


def test_brightness_contrast_saturation_in_torchvision_order():
    x = random_float(1)
    out = colour_only(x, brightness=[1.2], contrast=[0.7], saturation=[1.3])
    ref = TF.adjust_saturation(TF.adjust_contrast(TF.adjust_brightness(x[0], 1.2), 0.7), 1.3)
    torch.testing.assert_close(out[0], ref, atol=1e-4, rtol=0)


def test_zero_saturation_is_greyscale():
    x = random_float(1)
    out = colour_only(x, saturation=[0.0])
    # Exactly ITU-R 601 luma, in every channel, up to float32 rounding (~1e-7 here)…
    luma = (x[0] * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0, keepdim=True)
    torch.testing.assert_close(out[0], luma.expand(3, -1, -1), atol=1e-5, rtol=0)
    # …and torchvision's greyscale, which weighs red 0.2989 rather than 0.299: that alone differs
    # by up to 1e-4 for a red near 1, so 1e-4 (as before) failed on float32 rounding either way.
    torch.testing.assert_close(out[0], TF.rgb_to_grayscale(x[0], num_output_channels=3), atol=1e-3, rtol=0)


def test_hue_preserves_luma():
    x = random_float(2) * 0.2 + 0.4  # low chroma: the rotation stays inside the RGB cube
    one = torch.ones(2)
    out = jitter_colour(x.clone(), one, one, one, torch.tensor([0.1, -0.2]))
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert not torch.allclose(out, x, atol=1e-3)
    torch.testing.assert_close((out * luma).sum(1), (x * luma).sum(1), atol=1e-4, rtol=0)


def test_hue_direction_matches_torchvision():
    colours = torch.tensor([[0.9, 0.2, 0.1], [0.2, 0.8, 0.3], [0.2, 0.3, 0.9]])
    x = colours.view(3, 3, 1, 1).expand(3, 3, 4, 4).contiguous()
    one = torch.ones(3)
    h = 0.05
    out = jitter_colour(x.clone(), one, one, one, torch.full((3,), h))
    same = (out - TF.adjust_hue(x, h)).abs().mean()
    opposite = (out - TF.adjust_hue(x, -h)).abs().mean()
    assert same < opposite


def test_colour_does_not_touch_geometry():
    cfg = AugmentConfig(**NO_GEOMETRY, brightness=0.3, contrast=0.0, saturation=0.0, hue=0.0)
    aug = BatchAugmenter(cfg, MEAN, STD)
    images = random_uint8(4)
    out = aug.augment(images, gen(2))
    b = aug.sample_colour(4, gen(2))[0]
    torch.testing.assert_close(out, (images.float() / 255 * b.view(-1, 1, 1, 1)).clamp(0, 1), atol=1e-6,
                               rtol=0)


def test_no_nan_for_flat_or_black_images():
    cfg = AugmentConfig(rotation_range=30, shear_range=10, brightness=0.5, contrast=0.5, saturation=0.5,
                        hue=0.5, random_resized_crop=True)
    images = torch.zeros(4, 3, S, S, dtype=torch.uint8)
    images[2:] = 255
    out = BatchAugmenter(cfg, MEAN, STD)(images, gen())
    assert torch.isfinite(out).all()
    assert math.isfinite(float(out.sum()))
