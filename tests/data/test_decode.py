"""load_image / decode_into and the two image stores built on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from workbench.data.decode import decode_into, load_image
from workbench.data.loader import CachedImages, StreamingImages, batch_indices

S = 16


def rgb_array(h: int = S, w: int = S, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def check_shape(arr: np.ndarray, size: int = S) -> None:
    assert isinstance(arr, np.ndarray)
    assert arr.shape == (size, size, 3)
    assert arr.dtype == np.uint8


# --- modes --------------------------------------------------------------------------------------


def test_rgb_png_is_exact(tmp_path):
    arr = rgb_array()
    Image.fromarray(arr).save(tmp_path / "x.png")
    out = load_image(str(tmp_path / "x.png"), S)
    check_shape(out)
    np.testing.assert_array_equal(out, arr)  # same size: no resampling


def test_resized_to_requested_size(tmp_path):
    Image.fromarray(rgb_array(32, 32)).save(tmp_path / "x.png")
    check_shape(load_image(str(tmp_path / "x.png"), 8), 8)
    check_shape(load_image(str(tmp_path / "x.png"), 48), 48)


def test_non_square_is_centre_cropped(tmp_path):
    arr = np.zeros((16, 32, 3), np.uint8)
    arr[:, :8] = (255, 0, 0)
    arr[:, 8:24] = (0, 255, 0)
    arr[:, 24:] = (0, 0, 255)
    Image.fromarray(arr).save(tmp_path / "wide.png")
    out = load_image(str(tmp_path / "wide.png"), S)
    np.testing.assert_array_equal(out, np.broadcast_to(np.array([0, 255, 0], np.uint8), (S, S, 3)))


def test_greyscale_l(tmp_path):
    grey = rgb_array()[..., 0]
    Image.fromarray(grey, mode="L").save(tmp_path / "g.png")
    out = load_image(str(tmp_path / "g.png"), S)
    check_shape(out)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], grey)


def test_rgba_transparent_becomes_white(tmp_path):
    arr = np.zeros((S, S, 4), np.uint8)
    arr[..., 0] = 200  # red everywhere...
    arr[..., 3] = 255  # ...opaque
    arr[0, 0, 3] = 0  # one fully transparent pixel
    arr[0, 1] = (0, 0, 0, 128)  # half-transparent black: mid grey on white
    Image.fromarray(arr, mode="RGBA").save(tmp_path / "a.png")
    out = load_image(str(tmp_path / "a.png"), S)
    check_shape(out)
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])
    assert np.all(np.abs(out[0, 1].astype(int) - 127) <= 1)
    np.testing.assert_array_equal(out[5, 5], [200, 0, 0])


def test_la_transparent_becomes_white(tmp_path):
    arr = np.full((S, S, 2), 40, np.uint8)
    arr[..., 1] = 255
    arr[3, 4, 1] = 0
    Image.fromarray(arr, mode="LA").save(tmp_path / "la.png")
    out = load_image(str(tmp_path / "la.png"), S)
    np.testing.assert_array_equal(out[3, 4], [255, 255, 255])
    np.testing.assert_array_equal(out[0, 0], [40, 40, 40])


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (S, S), 0)
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * (768 - 9))
    im.putpixel((0, 0), 1)  # red
    im.putpixel((1, 0), 2)  # blue
    im.info["transparency"] = 0  # index 0 (black) is transparent
    im.save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    out = load_image(str(tmp_path / "p.png"), S)
    check_shape(out)
    np.testing.assert_array_equal(out[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(out[0, 1], [0, 0, 255])
    np.testing.assert_array_equal(out[5, 5], [255, 255, 255])  # transparent, not black


def test_palette_without_transparency(tmp_path):
    Image.fromarray(rgb_array()).quantize(16).save(tmp_path / "p.gif")
    expected = np.asarray(Image.open(tmp_path / "p.gif").convert("RGB"))
    np.testing.assert_array_equal(load_image(str(tmp_path / "p.gif"), S), expected)


def test_16bit_greyscale_is_scaled_not_clipped(tmp_path):
    arr = np.zeros((S, S), np.uint16)
    arr[:, 4:8] = 1000
    arr[:, 8:12] = 2000
    arr[:, 12:] = 4000  # everything above 255: clipping would make three equal white bands
    Image.fromarray(arr).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    out = load_image(str(tmp_path / "g16.png"), S)
    check_shape(out)
    row = out[0, :, 0].astype(int)
    assert row[0] == 0 and row[15] == 255
    assert abs(row[9] - 127) <= 1 and abs(row[5] - 63) <= 1
    assert np.all(out[..., 0] == out[..., 1]) and np.all(out[..., 1] == out[..., 2])


def test_cmyk_jpeg(tmp_path):
    arr = np.zeros((S, S, 4), np.uint8)
    arr[:, : S // 2] = (0, 255, 255, 0)  # red
    arr[:, S // 2 :] = (255, 255, 0, 0)  # blue
    Image.fromarray(arr, mode="CMYK").save(tmp_path / "c.jpg", quality=95)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    out = load_image(str(tmp_path / "c.jpg"), S).astype(int)
    check_shape(out.astype(np.uint8))
    assert np.abs(out[4, 2] - [255, 0, 0]).max() <= 12
    assert np.abs(out[4, 13] - [0, 0, 255]).max() <= 12


def test_exif_orientation_is_honoured(tmp_path):
    # Landscape 32x16: top half red, bottom half blue. Orientation 6 means "rotate 90° clockwise
    # to display", giving a 16x32 portrait whose centre square has blue on the left, red on the right.
    arr = np.zeros((16, 32, 3), np.uint8)
    arr[:8] = (255, 0, 0)
    arr[8:] = (0, 0, 255)
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(tmp_path / "o.jpg", exif=exif, quality=95)

    with Image.open(tmp_path / "o.jpg") as src:
        assert src.getexif().get(0x0112) == 6
        upright = ImageOps.exif_transpose(src).convert("RGB")
    assert upright.size == (16, 32)
    w, h = upright.size
    expected = np.asarray(upright.resize((S, S), Image.BILINEAR, box=(0, (h - w) / 2, w, (h + w) / 2)))

    out = load_image(str(tmp_path / "o.jpg"), S)
    np.testing.assert_array_equal(out, expected)
    left, right = out[:, :4].mean(axis=(0, 1)), out[:, -4:].mean(axis=(0, 1))
    assert left[2] > 200 and left[0] < 60  # blue
    assert right[0] > 200 and right[2] < 60  # red


def test_large_jpeg_draft_close_to_full_decode(tmp_path):
    # Draft mode decodes at a reduced scale; the result must still look like the full decode.
    yy, xx = np.mgrid[0:256, 0:192]
    arr = np.stack([xx * 255 // 191, yy * 255 // 255, (xx + yy) * 255 // 446], -1).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "big.jpg", quality=95)
    out = load_image(str(tmp_path / "big.jpg"), S).astype(float)
    with Image.open(tmp_path / "big.jpg") as im:
        full = im.convert("RGB").resize((S, S), Image.BILINEAR, box=(0, 32, 192, 224), reducing_gap=3.0)
    assert np.abs(out - np.asarray(full, float)).mean() < 3


# --- decode_into --------------------------------------------------------------------------------


def write_jpegs(folder: Path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        path = folder / f"img_{i}.jpg"
        Image.fromarray(rgb_array(24, 24, seed=i)).save(path, quality=90)
        paths.append(str(path))
    return paths


def test_decode_into_matches_load_image(tmp_path):
    paths = write_jpegs(tmp_path, 5)
    calls = []
    images, kept, failed = decode_into(paths, S, threads=2, progress=lambda d, t: calls.append((d, t)))
    assert images.dtype == torch.uint8 and images.shape == (5, 3, S, S)
    assert kept == [0, 1, 2, 3, 4] and failed == []
    for i, p in enumerate(paths):
        np.testing.assert_array_equal(images[i].permute(1, 2, 0).numpy(), load_image(p, S))
    assert calls[-1] == (5, 5)


def test_decode_into_leaves_out_truncated_jpeg(tmp_path):
    paths = write_jpegs(tmp_path, 5)
    data = Path(paths[2]).read_bytes()
    Path(paths[2]).write_bytes(data[: len(data) // 2])
    images, kept, failed = decode_into(paths, S, threads=2)
    assert kept == [0, 1, 3, 4]
    assert images.shape == (4, 3, S, S)
    assert len(failed) == 1
    path, reason = failed[0]
    assert path == paths[2]
    assert "could not be decoded" in reason and "truncated" in reason.lower()
    for row, i in enumerate(kept):
        np.testing.assert_array_equal(images[row].permute(1, 2, 0).numpy(), load_image(paths[i], S))


def test_decode_into_all_failed(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    images, kept, failed = decode_into([str(bad)], S, threads=1)
    assert images.shape == (0, 3, S, S) and kept == [] and len(failed) == 1


# --- CachedImages / StreamingImages -------------------------------------------------------------


def test_cached_and_streaming_give_identical_batches(tmp_path):
    paths = write_jpegs(tmp_path, 11)
    samples = [(p, i % 3) for i, p in enumerate(paths)]
    cached = CachedImages(samples, S, threads=2)
    streaming = StreamingImages(samples, S, workers=0)
    assert len(cached) == len(streaming) == 11
    order = torch.randperm(11, generator=torch.Generator().manual_seed(0))
    a = list(cached.batches(order, 4))
    b = list(streaming.batches(order, 4))
    assert [len(x[1]) for x in a] == [4, 4, 3]
    assert len(a) == len(b)
    for (ia, la), (ib, lb) in zip(a, b, strict=True):
        assert ia.dtype == ib.dtype == torch.uint8
        assert torch.equal(ia, ib)
        assert torch.equal(la, lb)
    assert torch.equal(torch.cat([x[1] for x in a]), torch.tensor([samples[i][1] for i in order]))


def test_cached_and_streaming_skip_the_same_bad_file(tmp_path):
    paths = write_jpegs(tmp_path, 6)
    data = Path(paths[1]).read_bytes()
    Path(paths[1]).write_bytes(data[: len(data) // 2])
    samples = [(p, i) for i, p in enumerate(paths)]
    cached = CachedImages(samples, S, threads=2)
    assert len(cached) == 5 and [f[0] for f in cached.failed] == [paths[1]]
    assert cached.labels.tolist() == [0, 2, 3, 4, 5]
    streaming = StreamingImages(samples, S, workers=0)
    labels = torch.cat([lb for _, lb in streaming.batches(torch.arange(6), 3)])
    assert labels.tolist() == [0, 2, 3, 4, 5]
    assert [f[0] for f in streaming.failed] == [paths[1]]


# --- batch_indices ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "batch", "sizes"),
    [
        (10, 5, [5, 5]),
        (11, 5, [5, 6]),  # a final single image joins the batch before it
        (12, 5, [5, 5, 2]),
        (1, 5, [1]),
        (4, 5, [4]),
        (3, 2, [3]),
        (5, 1, [1, 1, 1, 1, 1]),
        (0, 4, []),
    ],
)
def test_batch_indices_sizes_and_cover(n, batch, sizes):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(n))
    batches = batch_indices(order, batch)
    assert [len(b) for b in batches] == sizes
    joined = torch.cat(batches) if batches else torch.empty(0, dtype=torch.long)
    assert torch.equal(joined, order)  # every index exactly once, in order
