"""Hostile image folders, generated at test time with PIL and numpy (nothing binary is committed).

One function per case writes its file(s) into a folder and returns the path. ``make_hostile_dataset``
builds one mixed folder holding every file-level case next to enough good images to train on, and
says what the scan must make of each file (``HostileDataset.skipped`` / ``.usable``).
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


def _noise(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (height, width, channels) if channels > 1 else (height, width)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def good_png(folder: Path, name: str = "good.png", size: int = 32, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_noise(size, size, seed=seed)).save(folder / name)
    return folder / name


# --- files the scan or the decoder must skip ---------------------------------------------------


def truncated_jpeg(folder: Path, name: str = "truncated.jpg") -> Path:
    """A JPEG cut in half: the header is fine, the pixel data ends early."""
    path = folder / name
    Image.fromarray(_noise(64, 64, seed=1)).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def zero_byte(folder: Path, name: str = "zero.jpg") -> Path:
    (folder / name).write_bytes(b"")
    return folder / name


def text_named_jpg(folder: Path, name: str = "notes.jpg") -> Path:
    (folder / name).write_text("These are my notes, saved with the wrong name.\n", encoding="utf-8")
    return folder / name


def html_named_png(folder: Path, name: str = "download.png") -> Path:
    """What 'Save image as' gives when the link pointed to a web page."""
    (folder / name).write_text("<!DOCTYPE html>\n<html><head><title>Not found</title></head>"
                               "<body>404</body></html>\n", encoding="utf-8")
    return folder / name


def decompression_bomb(folder: Path, name: str = "bomb.png", side: int = 30_000) -> Path:
    """A PNG whose header claims side×side pixels (900 MP) with almost no data: Pillow's
    decompression-bomb guard trips on the header, nothing the size of the image is allocated."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
           + chunk(b"IEND", b""))
    (folder / name).write_bytes(png)
    return folder / name


def hidden_files(folder: Path) -> list[Path]:
    """macOS' .DS_Store and a hidden copy of an image: both are left alone."""
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(32))
    hidden = good_png(folder, ".hidden.png", seed=2)
    return [folder / ".DS_Store", hidden]


def symlink_loops(folder: Path, dataset_root: Path) -> list[Path]:
    """A link to the class folder itself and one to the dataset root: the walk must end, and must
    not pull the other classes' images into this one."""
    links = [folder / "loop", folder / "up"]
    os.symlink(folder, links[0], target_is_directory=True)
    os.symlink(dataset_root, links[1], target_is_directory=True)
    return links


# --- unusual but usable images -------------------------------------------------------------------


def png_16bit(folder: Path, name: str = "depth16.png") -> Path:
    ramp = np.linspace(0, 40_000, 32 * 32, dtype=np.uint16).reshape(32, 32)
    Image.fromarray(ramp).save(folder / name)  # mode I;16
    return folder / name


def cmyk_jpeg(folder: Path, name: str = "print_cmyk.jpg") -> Path:
    arr = np.zeros((32, 32, 4), np.uint8)
    arr[:, :16] = (0, 255, 255, 0)  # red
    arr[:, 16:] = (255, 255, 0, 0)  # blue
    Image.fromarray(arr, mode="CMYK").save(folder / name, quality=95)
    return folder / name


def palette_png_transparent(folder: Path, name: str = "palette.png") -> Path:
    im = Image.fromarray(_noise(32, 32, seed=3)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    im.info["transparency"] = 0
    im.save(folder / name, transparency=0)
    return folder / name


def greyscale(folder: Path, name: str = "grey.png") -> Path:
    Image.fromarray(_noise(32, 32, channels=1, seed=4), mode="L").save(folder / name)
    return folder / name


def rgba(folder: Path, name: str = "alpha.png") -> Path:
    arr = _noise(32, 32, channels=4, seed=5)
    arr[:16, :, 3] = 0  # top half fully transparent
    Image.fromarray(arr, mode="RGBA").save(folder / name)
    return folder / name


def exif_rotated(folder: Path, name: str = "rotated.jpg") -> Path:
    """Stored 32 wide × 16 high, left half red and right half blue, with EXIF orientation 6
    ("rotate 90° clockwise to display"): upright it is 16 × 32 with red on top, blue below."""
    arr = np.zeros((16, 32, 3), np.uint8)
    arr[:, :16] = (255, 0, 0)
    arr[:, 16:] = (0, 0, 255)
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(folder / name, exif=exif, quality=95)
    return folder / name


def one_pixel(folder: Path, name: str = "dot.png") -> Path:
    Image.new("RGB", (1, 1), (10, 200, 30)).save(folder / name)
    return folder / name


def unicode_and_spaces(folder: Path, name: str = "фото 1 (copy).png") -> Path:
    return good_png(folder, name, seed=6)


def nested(folder: Path) -> list[Path]:
    return [good_png(folder / "2023" / "summer trip", "deep.png", seed=7),
            good_png(folder / "2024", "shallow.png", seed=8)]


# --- whole folders --------------------------------------------------------------------------------


def single_class(root: Path, images: int = 6) -> Path:
    for i in range(images):
        good_png(root / "only_class", f"img_{i}.png", seed=i)
    return root


def no_images(root: Path) -> Path:
    (root / "cats").mkdir(parents=True)
    (root / "cats" / "readme.txt").write_text("the photos are still on my phone")
    (root / "dogs").mkdir()
    zero_byte(root / "dogs")
    return root


def empty_class_folders(root: Path) -> Path:
    """Every class folder exists, none holds a file."""
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
    return root


@dataclass
class HostileDataset:
    """A mixed folder and what the scan must make of it."""

    root: Path
    class_names: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # file name → words its reason must contain
    decode_skipped: dict[str, str] = field(default_factory=dict)  # passes the scan, fails decoding
    usable: dict[str, Path] = field(default_factory=dict)  # case → file that must be trained on
    empty_classes: list[str] = field(default_factory=list)


UNICODE_CLASS = "café au lait ☕"


def make_hostile_dataset(root: Path, good_per_class: int = 10) -> HostileDataset:
    """Three classes of good 32 px images (one with a non-ASCII, spaced name), every hostile
    file among them, an empty class folder and a hidden one."""
    classes = ["circle", "square", UNICODE_CLASS]
    for c, name in enumerate(classes):
        for i in range(good_per_class):
            good_png(root / name, f"img_{i:02d}.png", seed=100 * c + i)
    circle, square, cafe = (root / name for name in classes)
    data = HostileDataset(root, sorted(classes))

    data.skipped = {
        zero_byte(circle).name: "empty file (0 bytes)",
        text_named_jpg(circle).name: "text file",
        html_named_png(square).name: "web page (HTML)",
        decompression_bomb(square).name: "decompression bomb",
        "loop": "loops back",
        "up": "loops back",
    }
    for path in hidden_files(cafe):
        data.skipped[path.name] = "hidden file"
    symlink_loops(square, root)
    data.decode_skipped = {truncated_jpeg(circle).name: "truncated"}
    deep, shallow = nested(cafe)
    data.usable = {
        "16-bit PNG": png_16bit(circle),
        "CMYK JPEG": cmyk_jpeg(circle),
        "palette PNG with transparency": palette_png_transparent(square),
        "greyscale": greyscale(square),
        "RGBA": rgba(square),
        "EXIF-rotated photo": exif_rotated(cafe),
        "1×1 image": one_pixel(cafe),
        "non-ASCII, spaced name": unicode_and_spaces(cafe),
        "nested subfolder": deep,
        "nested subfolder (one level)": shallow,
    }
    (root / "empty class").mkdir()
    data.empty_classes = ["empty class"]
    good_png(root / ".thumbnails", "t.png")  # a hidden folder is not a class
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return data
