"""Generate the small sample dataset bundled with workbench.

The dataset is a folder of images with one subfolder per class, the layout workbench trains
on.  It holds four classes of geometric shapes -- ``circle``, ``square``, ``star`` and
``triangle`` -- drawn as 64x64 RGB JPEGs (100 per class by default), so a new user can try the
whole train / evaluate / predict loop without bringing their own data, and so the tests and
benchmarks have a realistic dataset they can regenerate anywhere, at any size.

The images are deliberately not trivial:

* backgrounds are random linear / radial gradients, two-colour blends with a soft wavy
  border, or blotchy low-frequency colour fields, under a faint colour texture, with Gaussian
  pixel noise, sometimes salt-and-pepper noise and a few faint distractor lines or blobs;
* each shape has a colour of random hue, made clearly lighter or darker (at random) than the
  background under it so it stays visible, a random size (40-75% of the image), a random
  position (fully or mostly inside the frame), a random rotation (square, star, triangle), a
  light shading, and is either filled or (one time in five) drawn as an outline.

Colour is drawn independently of the class, so only the shape tells the classes apart:
colour statistics alone score about chance, while workbench's default ``small_cnn``, trained
from scratch with the default settings, is at roughly 50-70% validation accuracy after 10
epochs and above 90% after 20.

Shapes are drawn with Pillow's ImageDraw at 4x the final size and downsampled with LANCZOS
for anti-aliased edges.  Everything is deterministic: each image gets its own
``numpy.random.default_rng`` seeded from ``(seed, class index, image index)``, so running the
script twice (with the same Pillow / numpy versions) writes byte-identical files.

Usage::

    python resources/sample_data/make_sample_data.py [--out DIR] [--per-class N]
                                                     [--size S] [--seed SEED]

By default it writes into the folder holding this script.  Before writing it deletes the old
``*.jpg`` files in the class folders it is about to fill, and nothing else.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES: tuple[str, ...] = ("circle", "square", "star", "triangle")
"""Class names in sorted order, the order workbench assigns label indices in (0..3)."""

SUPERSAMPLE = 4
JPEG_QUALITY = 90

# How hard the images are.  Tuned so workbench's small_cnn, trained from scratch with the
# default settings, is clearly better than chance within about ten epochs but not at once.
# The brightness gap between shape and background matters most; colour must stay random.
_BG_SPREAD = 80.0  # most a background's second colour differs from its first, per channel
_BG_TEXTURE = 0.35  # most strength of the faint colour texture over each background
_SIZE_RANGE = (0.4, 0.75)  # extent of the shape as a fraction of the image side
_OUTLINE_PROB = 0.2  # chance of an outline instead of a filled shape
_NOISE_SIGMA = (3.0, 12.0)  # range of the Gaussian pixel noise's standard deviation
_SALT_PEPPER_PROB = 0.25  # chance of sprinkling black and white pixels
_DISTRACTOR_PROB = 0.5  # chance of a few faint lines / blobs in the background
_DISTRACTOR_ALPHA = (0.1, 0.3)  # their opacity
_MIN_LUMA_CONTRAST = 100.0  # brightness gap (0-255) between the shape and the background under it
_LIGHTER_PROB = 0.5  # chance the shape is lighter (not darker) than its background
_BG_SATURATION = (0.3, 0.9)  # range of the background colours' saturation factor
_LUMA = np.array([0.299, 0.587, 0.114])  # Rec. 601 luma weights


def _image_rng(seed: int, class_index: int, image_index: int) -> np.random.Generator:
    """The generator for one image: independent of every other image and of call order."""
    return np.random.default_rng([seed, class_index, image_index])


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.0, 255.0, size=3)


def _unit_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1], as (y, x) arrays of shape (size, size)."""
    coords = (np.arange(size, dtype=np.float64) + 0.5) / size
    return np.meshgrid(coords, coords, indexing="ij")


def _smooth_field(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """A low-frequency random field in [0, 1]: a tiny random grid upsampled bicubically."""
    grid = rng.uniform(0.0, 1.0, size=(cells, cells)).astype(np.float32)
    field = np.asarray(Image.fromarray(grid).resize((size, size), Image.Resampling.BICUBIC))
    field = field.astype(np.float64)
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / (hi - lo) if hi > lo else np.zeros_like(field)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A float (size, size, 3) background: one of four kinds of two-colour blend."""
    yy, xx = _unit_grid(size)
    # The second colour stays near the first, so the shape's edges are the strongest ones.
    c1 = _random_colour(rng)
    grey = float(c1 @ _LUMA)
    c1 = grey + (c1 - grey) * rng.uniform(*_BG_SATURATION)
    c2 = np.clip(c1 + rng.uniform(-_BG_SPREAD, _BG_SPREAD, size=3), 0.0, 255.0)
    kind = int(rng.integers(4))
    if kind == 0:  # linear gradient in a random direction
        theta = rng.uniform(0.0, 2.0 * math.pi)
        t = (xx - 0.5) * math.cos(theta) + (yy - 0.5) * math.sin(theta)
        t = (t - t.min()) / (t.max() - t.min())
    elif kind == 1:  # radial gradient around a random centre
        cx, cy = rng.uniform(0.0, 1.0, size=2)
        t = np.hypot(xx - cx, yy - cy)
        t = t / t.max()
    elif kind == 2:  # two colours meeting along a soft, wavy border
        theta = rng.uniform(0.0, 2.0 * math.pi)
        along = (xx - 0.5) * math.cos(theta) + (yy - 0.5) * math.sin(theta)
        across = -(xx - 0.5) * math.sin(theta) + (yy - 0.5) * math.cos(theta)
        wave = rng.uniform(0.02, 0.12) * np.sin(
            rng.uniform(3.0, 12.0) * across + rng.uniform(0.0, 2.0 * math.pi)
        )
        offset = rng.uniform(-0.25, 0.25)
        softness = rng.uniform(0.02, 0.12)
        t = 1.0 / (1.0 + np.exp(-(along - offset + wave) / softness))
    else:  # blotchy low-frequency field
        t = _smooth_field(rng, size, int(rng.integers(3, 7)))
    bg = c1 + (c2 - c1) * t[..., None]
    # A faint colour texture on top of every kind, so no background is perfectly smooth.
    tint = _random_colour(rng) - 127.5
    texture = _smooth_field(rng, size, int(rng.integers(4, 9))) - 0.5
    return bg + rng.uniform(0.0, _BG_TEXTURE) * texture[..., None] * tint


def _mask_canvas(size: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    canvas = Image.new("L", (size * SUPERSAMPLE, size * SUPERSAMPLE), 0)
    return canvas, ImageDraw.Draw(canvas)


def _downsample_mask(canvas: Image.Image, size: int) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] at the final size."""
    small = canvas.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.float64) / 255.0


def _polygon_points(
    name: str, cx: float, cy: float, r: float, angle: float, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """Vertices (supersampled pixel coordinates) of a square, triangle or star."""
    if name == "square":
        radii = [r] * 4
        angles = [angle + k * math.pi / 2 for k in range(4)]
    elif name == "triangle":
        radii = [r] * 3
        angles = [angle + k * 2 * math.pi / 3 for k in range(3)]
    elif name == "star":
        inner = r * rng.uniform(0.38, 0.5)
        radii = [r if k % 2 == 0 else inner for k in range(10)]
        angles = [angle + k * math.pi / 5 for k in range(10)]
    else:
        raise ValueError(f"not a polygon shape: {name!r}")
    pairs = zip(radii, angles, strict=True)
    return [(cx + rr * math.cos(a), cy + rr * math.sin(a)) for rr, a in pairs]


# Circumradius of each shape relative to the circle's radius, so their extents match roughly.
_RADIUS_SCALE = {"circle": 1.0, "square": 1.05, "triangle": 1.15, "star": 1.08}
# Rotational symmetry: rotating by more than this gives nothing new.
_SYMMETRY = {
    "circle": 0.0,
    "square": math.pi / 2,
    "triangle": 2 * math.pi / 3,
    "star": 2 * math.pi / 5,
}


def _shape_mask(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Coverage in [0, 1] of one randomly sized, placed, rotated, filled-or-outlined shape."""
    frac = rng.uniform(*_SIZE_RANGE)
    r = frac * size / 2.0
    margin = 0.85 * r  # the centre stays far enough in for the shape to be mostly inside
    cx = rng.uniform(margin, size - margin)
    cy = rng.uniform(margin, size - margin)
    angle = rng.uniform(0.0, _SYMMETRY[name]) if _SYMMETRY[name] else 0.0
    outline = rng.uniform() < _OUTLINE_PROB
    # Outline width relative to the radius, at least ~1.2 px in the final image.
    width = max(1.2, r * rng.uniform(0.12, 0.22))

    s = SUPERSAMPLE
    canvas, draw = _mask_canvas(size)
    big_r = r * _RADIUS_SCALE[name] * s
    bx, by = cx * s, cy * s
    line_width = max(1, round(width * s))
    if name == "circle":
        box = (bx - big_r, by - big_r, bx + big_r, by + big_r)
        if outline:
            draw.ellipse(box, outline=255, width=line_width)
        else:
            draw.ellipse(box, fill=255)
    else:
        points = _polygon_points(name, bx, by, big_r, angle, rng)
        if outline:
            # Repeat the first two vertices so every corner, the first included, gets a joint.
            draw.line(points + points[:2], fill=255, width=line_width, joint="curve")
        else:
            draw.polygon(points, fill=255)
    return _downsample_mask(canvas, size)


def _add_distractors(img: np.ndarray, rng: np.random.Generator, size: int) -> None:
    """Blend a few faint random lines and blobs into ``img`` (in place)."""
    s = SUPERSAMPLE
    for _ in range(int(rng.integers(1, 4))):
        canvas, draw = _mask_canvas(size)
        if rng.uniform() < 0.5:
            x0, y0, x1, y1 = rng.uniform(0.0, size * s, size=4)
            width = max(1, round(rng.uniform(0.01, 0.04) * size * s))
            draw.line([(x0, y0), (x1, y1)], fill=255, width=width)
        else:
            cx, cy = rng.uniform(0.0, size * s, size=2)
            rx, ry = rng.uniform(0.03, 0.12, size=2) * size * s
            draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
        alpha = _downsample_mask(canvas, size)[..., None] * rng.uniform(*_DISTRACTOR_ALPHA)
        img *= 1.0 - alpha
        img += alpha * _random_colour(rng)


def _contrasting_colour(
    rng: np.random.Generator,
    background: np.ndarray,
    mask: np.ndarray,
) -> np.ndarray:
    """A colour of random hue clearly lighter or darker than the background under the shape."""
    under = background[mask > 0.5]
    if under.size == 0:
        under = background.reshape(-1, 3)
    under_luma = np.clip(under @ _LUMA, 0.0, 255.0)
    darkest, lightest = np.percentile(under_luma, [5, 95])
    lighter = rng.uniform() < _LIGHTER_PROB
    # Flip the polarity where the background leaves no room for it.
    if lighter and lightest + _MIN_LUMA_CONTRAST > 255.0 and darkest - _MIN_LUMA_CONTRAST >= 0:
        lighter = False
    elif not lighter and darkest - _MIN_LUMA_CONTRAST < 0 and lightest + _MIN_LUMA_CONTRAST <= 255:
        lighter = True
    if lighter:
        target = min(255.0, lightest + _MIN_LUMA_CONTRAST + rng.uniform(0.0, 30.0))
    else:
        target = max(0.0, darkest - _MIN_LUMA_CONTRAST - rng.uniform(0.0, 30.0))
    # Shift a random colour's brightness to the target by adding grey, which keeps its hue and
    # as much of its saturation as fits in [0, 255]; a few rounds make up for the clipping.
    colour = _random_colour(rng)
    for _ in range(6):
        colour = np.clip(colour + (target - float(colour @ _LUMA)), 0.0, 255.0)
    return colour


def make_image(name: str, rng: np.random.Generator, size: int = 64) -> Image.Image:
    """One sample image of the shape ``name``, drawn with ``rng``."""
    img = _background(rng, size)
    if rng.uniform() < _DISTRACTOR_PROB:
        _add_distractors(img, rng, size)
    mask = _shape_mask(name, size, rng)
    colour = _contrasting_colour(rng, img, mask)
    # Light shading across the shape, so it is not a flat colour either.
    yy, xx = _unit_grid(size)
    theta = rng.uniform(0.0, 2.0 * math.pi)
    ramp = (xx - 0.5) * math.cos(theta) + (yy - 0.5) * math.sin(theta)
    shade = 1.0 + rng.uniform(0.0, 0.3) * ramp
    fill = colour * shade[..., None]
    alpha = mask[..., None]
    img = img * (1.0 - alpha) + fill * alpha
    # Pixel noise: always Gaussian, sometimes salt-and-pepper too.
    img += rng.normal(0.0, rng.uniform(*_NOISE_SIGMA), size=img.shape)
    if rng.uniform() < _SALT_PEPPER_PROB:
        hits = rng.uniform(size=(size, size)) < rng.uniform(0.003, 0.015)
        img[hits] = rng.choice([0.0, 255.0], size=(int(hits.sum()), 1))
    pixels = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def make_sample_dataset(
    out_dir: str | Path, per_class: int = 100, size: int = 64, seed: int = 0
) -> dict[str, int]:
    """Write ``per_class`` JPEGs of each class into ``out_dir/<class>/``.

    Old ``*.jpg`` files in those class folders are deleted first (nothing else is touched).
    Returns the number of images written per class, in ``CLASSES`` (sorted) order.
    """
    if per_class < 0:
        raise ValueError("per_class must be >= 0")
    if size < 8:
        raise ValueError("size must be >= 8")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    out = Path(out_dir)
    digits = max(3, len(str(max(per_class - 1, 0))))
    counts: dict[str, int] = {}
    for class_index, name in enumerate(CLASSES):
        class_dir = out / name
        class_dir.mkdir(parents=True, exist_ok=True)
        for old in sorted(class_dir.glob("*.jpg")):
            if old.is_file():
                old.unlink()
        for image_index in range(per_class):
            rng = _image_rng(seed, class_index, image_index)
            image = make_image(name, rng, size)
            path = class_dir / f"{name}_{image_index:0{digits}d}.jpg"
            image.save(path, format="JPEG", quality=JPEG_QUALITY, optimize=False)
        counts[name] = per_class
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate the bundled sample dataset (circle / square / triangle / star)."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="output folder (default: the folder holding this script)",
    )
    parser.add_argument("--per-class", type=int, default=100, help="images per class")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    try:
        counts = make_sample_dataset(args.out, args.per_class, args.size, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    for name, count in counts.items():
        print(f"{name}: {count} images -> {args.out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
