"""Batched augmentation of uint8 image tensors, with a fresh random draw for every image.

torchvision's v2 transforms draw one set of parameters per call, so applied to a batch they flip or
rotate every image the same way; called per image they cost Python overhead per sample. Here every
geometric option (flips, rotation, shift, shear, zoom, random resized crop) becomes one 2×3 affine
matrix per image and the whole batch is resampled by a single ``grid_sample``; colour jitter is a
per-image 3×3 colour matrix plus a contrast blend. The same code runs on CPU and on the GPU. The
parameter conventions are torchvision's (angles clockwise in degrees, ColorJitter factors;
hue turns in YIQ rather than HSV space, same direction) and the
tests check the result against ``torchvision.transforms.v2.functional`` for fixed parameters.

torchvision's policies (RandAugment, TrivialAugmentWide, AutoAugment) and random erasing have no
batched form; they run image by image (:mod:`workbench.data.policies`), the policy first, on the
uint8 pixels it expects, the erasing last. MixUp / CutMix act on the finished batch
(:mod:`workbench.data.mixing`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from workbench.config import AugmentConfig
from workbench.data.policies import make_eraser, make_policy, per_image, seeded_from

# ITU-R 601 luma weights, as torchvision's rgb_to_grayscale uses.
_LUMA = torch.tensor([0.299, 0.587, 0.114])
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]]
)
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)
_PADDING = {"constant": "zeros", "nearest": "border", "reflect": "reflection", "wrap": "zeros"}


def to_device(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A small CPU tensor (per-batch random parameters) on ``like``'s device and dtype.

    To a GPU it goes through pinned memory without blocking: a plain copy from pageable memory
    would make the training thread wait for the GPU to finish its queued work on every batch.
    """
    t = t.to(dtype=like.dtype)
    if like.device.type == "cuda":
        return t.pin_memory().to(like.device, non_blocking=True)
    return t.to(like.device)


@dataclass
class AffineParams:
    """Per-image geometric parameters (each a tensor of shape [B])."""

    angle: torch.Tensor  # degrees, clockwise
    translate_x: torch.Tensor  # fraction of width
    translate_y: torch.Tensor  # fraction of height
    shear: torch.Tensor  # degrees
    zoom_x: torch.Tensor  # >1 magnifies
    zoom_y: torch.Tensor
    flip_x: torch.Tensor  # bool
    flip_y: torch.Tensor  # bool
    crop_w: torch.Tensor  # random resized crop: fraction of width kept (1 = none)
    crop_h: torch.Tensor
    crop_cx: torch.Tensor  # crop centre in [-1, 1] coordinates
    crop_cy: torch.Tensor


class BatchAugmenter:
    """Turns a uint8 batch [B, 3, H, W] into a normalised float batch, augmenting if training."""

    def __init__(self, config: AugmentConfig, mean, std):
        self.config = config
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        # Normalisation of raw 0..255 values, (x / 255 - mean) / std, as one multiply and one add.
        self._scale = 1.0 / (255.0 * self.std)
        self._shift = -self.mean / self.std
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}
        self.policy = make_policy(config)
        # Erased pixels get the mean colour, which normalisation turns into 0: torchvision's
        # reference recipe (RandomErasing after Normalize, value 0). One eraser per pixel scale.
        self._erasers = {white: make_eraser(config, [m * white for m in mean]) for white in (1.0, 255.0)}

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None,
                 train: bool = True) -> torch.Tensor:
        # Augmentation works on the raw 0..255 values (every step is linear in them), so the uint8
        # batch is converted once and normalised in two in-place passes at the end.
        x = self._augment(images, generator, white=255.0) if train else images.float()
        scale, shift = self._normalisation(x.device)
        return x.mul_(scale).add_(shift)

    def augment(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augmented images as float in [0, 1], not normalised (what the preview shows)."""
        return self._augment(images, generator, white=1.0)

    def _augment(self, images: torch.Tensor, generator: torch.Generator | None,
                 white: float) -> torch.Tensor:
        """uint8 ``images`` augmented, as float with full intensity ``white`` (1 or 255)."""
        cfg = self.config
        if self.policy is not None:
            with seeded_from(generator):
                images = per_image(self.policy, images)
        x = images.float()
        if white != 255.0:
            x.div_(255.0 / white)
        if cfg.is_colour:
            x = jitter_colour(x, *self.sample_colour(x.shape[0], generator), white=white)
        if cfg.is_geometric:
            x = warp_affine(x, self.sample_affine(x.shape[0], generator), cfg.fill_mode,
                            cfg.fill_value / 255.0 * white, white=white)
        eraser = self._erasers[white]
        if eraser is not None:
            with seeded_from(generator):
                x = per_image(eraser, x)
        return x

    def _normalisation(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if device not in self._on_device:
            self._on_device[device] = (self._scale.to(device), self._shift.to(device))
        return self._on_device[device]

    def sample_affine(self, n: int, generator: torch.Generator | None) -> AffineParams:
        cfg = self.config

        def uniform(low: float, high: float) -> torch.Tensor:
            return torch.rand(n, generator=generator) * (high - low) + low

        def coin(enabled: bool) -> torch.Tensor:
            return (torch.rand(n, generator=generator) < 0.5) & enabled

        ones = torch.ones(n)
        crop_w, crop_h, crop_cx, crop_cy = ones, ones, torch.zeros(n), torch.zeros(n)
        if cfg.random_resized_crop:
            # torchvision's RandomResizedCrop: area fraction in [scale_min, 1], log-uniform
            # aspect ratio in [3/4, 4/3], clipped to the image.
            area = uniform(cfg.crop_scale_min, 1.0)
            ratio = torch.exp(uniform(math.log(3 / 4), math.log(4 / 3)))
            crop_w = torch.sqrt(area * ratio).clamp(max=1.0)
            crop_h = torch.sqrt(area / ratio).clamp(max=1.0)
            crop_cx = uniform(-1.0, 1.0) * (1 - crop_w)
            crop_cy = uniform(-1.0, 1.0) * (1 - crop_h)
        zoom = (cfg.zoom_range, cfg.zoom_range)
        return AffineParams(
            angle=uniform(-cfg.rotation_range, cfg.rotation_range),
            translate_x=uniform(-cfg.width_shift_range, cfg.width_shift_range),
            translate_y=uniform(-cfg.height_shift_range, cfg.height_shift_range),
            shear=uniform(-cfg.shear_range, cfg.shear_range),
            zoom_x=uniform(1 - zoom[0], 1 + zoom[1]),
            zoom_y=uniform(1 - zoom[0], 1 + zoom[1]),
            flip_x=coin(cfg.horizontal_flip),
            flip_y=coin(cfg.vertical_flip),
            crop_w=crop_w, crop_h=crop_h, crop_cx=crop_cx, crop_cy=crop_cy,
        )

    def sample_colour(self, n: int, generator: torch.Generator | None):
        cfg = self.config

        def factor(amount: float) -> torch.Tensor:
            return torch.rand(n, generator=generator) * (2 * amount) + (1 - amount)

        hue = (torch.rand(n, generator=generator) * 2 - 1) * cfg.hue
        return factor(cfg.brightness), factor(cfg.contrast), factor(cfg.saturation), hue


def affine_matrices(p: AffineParams) -> torch.Tensor:
    """[B, 2, 3] maps from output to input coordinates in grid_sample's [-1, 1] space.

    Forward (input → output) the image is flipped, zoomed, sheared, rotated clockwise and
    shifted about its centre, then the crop window is stretched to fill the output.
    """
    # Forward linear part: rotate @ shear @ zoom @ flip with rotate = [[c, -s], [s, c]] (y points
    # down in images, so this turns the picture clockwise), shear = [[1, -k], [0, 1]] and
    # zoom @ flip = diag(sx, sy). Its determinant is sx * sy, so the inverse has a closed form:
    # a handful of batched element-wise ops instead of building and inverting 3×3 matrices.
    a = torch.deg2rad(p.angle)
    c, s = torch.cos(a), torch.sin(a)
    k = torch.tan(torch.deg2rad(p.shear))
    sx = torch.where(p.flip_x, -p.zoom_x, p.zoom_x)
    sy = torch.where(p.flip_y, -p.zoom_y, p.zoom_y)
    inverse = torch.stack([(c - s * k) / sx, (c * k + s) / sx, -s / sy, c / sy], dim=1).view(-1, 2, 2)
    # Output pixel u lies at crop_size * u + crop_centre before the crop, and forward shifts by
    # 2 * translate (a fraction of the size is twice that in [-1, 1] units), so the input point is
    # inverse @ (crop_size * u + crop_centre - 2 * translate).
    linear = inverse * torch.stack([p.crop_w, p.crop_h], dim=1).unsqueeze(1)
    offset = torch.stack([p.crop_cx - 2 * p.translate_x, p.crop_cy - 2 * p.translate_y], dim=1)
    return torch.cat([linear, inverse @ offset.unsqueeze(2)], dim=2)


def affine_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``F.affine_grid(theta, [B, C, height, width], align_corners=False)``, several times faster.

    The sampling point of pixel (i, j) is theta @ (x_j, y_i, 1): two broadcast multiply-adds
    over the pixel centres instead of a batched matrix product with an inner size of 3.
    """
    def centres(size: int) -> torch.Tensor:
        return (torch.arange(size, device=theta.device, dtype=theta.dtype) * 2 + 1) / size - 1

    t = theta.unsqueeze(-1).unsqueeze(-1)  # [B, 2, 3, 1, 1]
    rows = torch.addcmul(t[:, :, 2], t[:, :, 1], centres(height).view(1, 1, height, 1))
    grid = torch.addcmul(rows, t[:, :, 0], centres(width).view(1, 1, 1, width))  # [B, 2, H, W]
    return grid.permute(0, 2, 3, 1)  # grid_sample reads the strided view as fast as a copy


def warp_affine(x: torch.Tensor, params: AffineParams, fill_mode: str = "nearest",
                fill_value: float = 0.0, white: float = 1.0) -> torch.Tensor:
    """Resample each image of ``x`` (float, [B, C, H, W]) through its own affine transform.

    Fill modes are Keras': constant (``fill_value``), nearest (edge pixels), reflect, wrap.
    ``white`` is the value of full intensity in ``x`` (1 for [0, 1] images, 255 for raw bytes).
    """
    theta = to_device(affine_matrices(params), x)
    h, w = x.shape[-2:]
    grid = affine_grid(theta, h, w)
    if fill_mode == "wrap":
        # Wrap the coordinates into the image, then sample a copy padded by one pixel taken from
        # the opposite edges, so interpolation across the seam blends real neighbours, not zeros.
        grid = torch.remainder(grid + 1, 2) - 1
        grid = grid * to_device(torch.tensor([w / (w + 2), h / (h + 2)]), x)
        x = F.pad(x, (1, 1, 1, 1), mode="circular")
    if fill_mode == "constant" and fill_value:
        # grid_sample pads with zeros; bilinear sampling is linear, so shifting by the fill
        # value before and after pads with exactly that value.
        out = F.grid_sample(x - fill_value, grid, mode="bilinear", padding_mode="zeros",
                            align_corners=False)
        return out.add_(fill_value).clamp_(0, white)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=_PADDING[fill_mode],
                         align_corners=False)


def jitter_colour(x: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor,
                  saturation: torch.Tensor, hue: torch.Tensor, white: float = 1.0) -> torch.Tensor:
    """torchvision ColorJitter's brightness → contrast → saturation → hue, one factor per image.

    ``white`` is the value of full intensity in ``x`` (1 for [0, 1] images, 255 for raw bytes).
    """
    b = to_device(brightness, x).view(-1, 1, 1, 1)
    x = (x * b).clamp_(0, white)
    luma = to_device(_LUMA, x)
    c = to_device(contrast, x).view(-1, 1, 1, 1)
    mean_grey = torch.einsum("bchw,c->b", x, luma).div_(x.shape[2] * x.shape[3]).view(-1, 1, 1, 1)
    x = ((x - mean_grey) * c + mean_grey).clamp_(0, white)
    # Saturation (blend with grey) and hue (rotation of the YIQ chroma plane) are both linear
    # colour maps, so they fold into one 3×3 matrix per image.
    n = x.shape[0]
    sat = saturation.view(-1, 1, 1)
    sat_m = sat * torch.eye(3) + (1 - sat) * _LUMA.view(1, 1, 3).expand(n, 3, 3)
    # Negative rotation of the I/Q plane turns red towards yellow, as torchvision's +hue does.
    angle = -hue * 2 * math.pi
    cos, sin, zero, one = torch.cos(angle), torch.sin(angle), torch.zeros(n), torch.ones(n)
    rot = torch.stack([one, zero, zero, zero, cos, -sin, zero, sin, cos], dim=1).view(n, 3, 3)
    colour = to_device(_YIQ_TO_RGB @ rot @ _RGB_TO_YIQ @ sat_m, x)
    return torch.einsum("bij,bjhw->bihw", colour, x).clamp_(0, white)
