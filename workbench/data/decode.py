"""Decoding image files into uint8 tensors at training size, once per run."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps

if TYPE_CHECKING:
    import torch


def load_image(path: str, size: int) -> np.ndarray:
    """RGB uint8 array [size, size, 3]: EXIF orientation applied, centre square crop, resized.

    JPEGs are decoded at a reduced scale when that still covers ``size`` (PIL draft mode), which
    makes large photos several times faster to load.
    """
    with Image.open(path) as im:
        if im.format == "JPEG":
            im.draft("RGB", (size, size))
        return fit_image(im, size)


def load_image_for_display(path: str, size: int) -> np.ndarray:
    """The centre square for a person to look at, about ``size`` px: as :func:`load_image`, except
    that a smaller picture is enlarged a whole number of times with nearest-neighbour, so its
    pixels stay sharp squares instead of a bilinear blur (an 8×8 digit becomes 56×56 blocks)."""
    with Image.open(path) as im:
        im = _to_rgb(ImageOps.exif_transpose(im))
        w, h = im.size
        side = min(w, h)
        if side * 2 > size:
            return fit_image(im, size)
        factor = size // side
        box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
        return np.asarray(im.resize((side * factor, side * factor), Image.NEAREST, box=box), dtype=np.uint8)


def fit_image(im: Image.Image, size: int) -> np.ndarray:
    """An opened image as the model sees it: EXIF orientation, RGB, centre square crop, resized.

    The one preprocessing step shared by training, export checks and predictions.
    """
    im = ImageOps.exif_transpose(im)
    im = _to_rgb(im)
    w, h = im.size
    side = min(w, h)
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
    im = im.resize((size, size), Image.BILINEAR, box=box, reducing_gap=3.0)
    return np.asarray(im, dtype=np.uint8)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale the actual range to 8 bits rather than clipping.
        arr = np.asarray(im, dtype=np.float32)
        top = float(arr.max()) or 1.0
        return Image.fromarray((arr * (255.0 / top)).astype(np.uint8)).convert("RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Composite transparent pixels on white, as image viewers show them.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def decode_into(
    paths: list[str],
    size: int,
    threads: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, list[int], list[tuple[str, str]]]:
    """Decode ``paths`` into one uint8 tensor [N, 3, size, size] with parallel threads.

    Returns the tensor of the images that decoded, the indices into ``paths`` they came from, and
    ``(path, reason)`` for files that failed (e.g. truncated), which are left out.
    """
    # Here, not at the top: the window decodes thumbnails long before torch is loaded, and the disk
    # cache's fill processes import this module for load_image alone.
    import torch

    threads = threads or min(8, os.cpu_count() or 1)
    out = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)
    target = out.numpy()
    failed: list[tuple[str, str]] = []
    ok = np.zeros(len(paths), dtype=bool)

    def work(i: int) -> None:
        try:
            target[i] = load_image(paths[i], size).transpose(2, 0, 1)
            ok[i] = True
        except Exception as exc:  # noqa: BLE001 — any decoder failure means: skip this file
            failed.append((paths[i], f"could not be decoded ({exc.__class__.__name__}: {exc})"))
        # Small images decode mostly in Python, under the GIL; handing it over between files keeps
        # other threads (a window's event loop) from starving behind the pool.
        time.sleep(0)

    step = max(1, len(paths) // 100)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for done, _ in enumerate(pool.map(work, range(len(paths))), start=1):
            if progress and (done % step == 0 or done == len(paths)):
                progress(done, len(paths))
    kept = np.flatnonzero(ok).tolist()
    images = out if len(kept) == len(paths) else out[torch.as_tensor(kept, dtype=torch.long)]
    return images, kept, failed
