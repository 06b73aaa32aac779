"""Scanning an image folder: classes, usable images, and every file skipped with its reason.

Layouts follow torchvision's ``ImageFolder``: one subfolder per class, classes sorted by name and
indexed in that order. A folder holding ``train/`` and ``val/`` (optionally ``test/``) subfolders,
each laid out that way, is taken as already split.
"""

from __future__ import annotations

import codecs
import os
import re
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from workbench.data import scan_index
from workbench.data.processes import run_chunks, worker_processes

# torchvision.datasets.folder.IMG_EXTENSIONS, spelled out: importing torchvision takes seconds (it
# loads torch and torch._dynamo), and scanning a folder needs neither (a test keeps the two equal).
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

SPLIT_NAMES = ("train", "val", "test")
# The app's own megapixel limit (TrainConfig.max_image_megapixels) decides which images are too big;
# Pillow's warning between its limit and twice it would only repeat that on the console. Its error
# above twice the limit still stops any decode, which is what guards against decompression bombs.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
_VAL_ALIASES = ("val", "valid", "validation")


class DatasetError(ValueError):
    """The folder cannot be trained on; the message says why."""


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class DatasetScan:
    """What a folder holds. ``samples`` maps a split name ("all", or "train"/"val"/"test" for a
    pre-split folder) to ``(path, class_index)`` pairs."""

    root: str
    class_names: list[str]
    samples: dict[str, list[tuple[str, int]]]
    skipped: list[SkippedFile] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)
    # (size in bytes, modification time in ns) of every usable image as the scan saw it: the key
    # of the folder's decoded images in the disk cache.
    file_stats: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    @property
    def presplit(self) -> bool:
        return "train" in self.samples

    @property
    def num_images(self) -> int:
        return sum(len(v) for v in self.samples.values())

    def class_counts(self, split: str | None = None) -> dict[str, int]:
        counts = dict.fromkeys(self.class_names, 0)
        for name, items in self.samples.items():
            if split is None or name == split:
                for _, label in items:
                    counts[self.class_names[label]] += 1
        return counts

    @property
    def imbalance_ratio(self) -> float:
        """Largest class ÷ smallest class (1.0 = balanced)."""
        counts = [c for c in self.class_counts().values() if c]
        return max(counts) / min(counts) if counts else 1.0

    def to_dict(self) -> dict:
        return {
            "root": self.root,
            "class_names": self.class_names,
            "layout": "train/val folders" if self.presplit else "one folder per class",
            "images_per_class": self.class_counts(),
            "splits": {name: len(items) for name, items in self.samples.items()},
            "imbalance_ratio": round(self.imbalance_ratio, 3),
            "empty_classes": self.empty_classes,
            "skipped": [asdict(s) for s in self.skipped],
        }

    def report(self) -> str:
        """The scan report as the CLI prints it and the run folder keeps it."""
        counts = self.class_counts()
        width = max([len(n) for n in counts] + [5])
        lines = [f"Dataset {self.root}: {self.num_images} images in {len(counts)} classes"
                 + (" (already split into " + "/".join(self.samples) + ")" if self.presplit else "")]
        biggest = max(counts.values(), default=0)
        for name, n in counts.items():
            bar = "#" * round(30 * n / biggest) if biggest else ""
            lines.append(f"  {name:<{width}} {n:>6}  {bar}")
        if self.imbalance_ratio >= 1.5:
            lines.append(f"  Warning: classes are imbalanced (largest/smallest = "
                         f"{self.imbalance_ratio:.1f}); accuracy can hide a weak small class.")
        for name in self.empty_classes:
            lines.append(f"  Warning: class folder '{name}' has no usable images and is left out.")
        if self.skipped:
            lines.append(f"  Skipped {len(self.skipped)} file(s):")
            for item in self.skipped[:20]:
                lines.append(f"    {item.path}: {item.reason}")
            if len(self.skipped) > 20:
                lines.append(f"    … and {len(self.skipped) - 20} more (see scan_report.json)")
        return "\n".join(lines)


def scan_image_folder(root: str | Path, max_megapixels: float = 89.0, threads: int = 8,
                      progress: Callable[[int, int], None] | None = None,
                      incremental: bool = True) -> DatasetScan:
    """Scan ``root``; raise :class:`DatasetError` when it cannot be trained on.

    ``progress(done, total)`` follows the check of the images' headers. ``incremental``: files
    whose size and modification time are those the last scan of this folder recorded keep that
    scan's verdict without being opened (see :mod:`workbench.data.scan_index`)."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"Folder {root} does not exist.")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; choose the folder that holds one "
                           "subfolder per class.")
    try:
        subdirs = _list_dir(root)[0]
    except OSError as exc:
        raise DatasetError(f"Cannot read folder {root}: {exc.strerror or exc}") from exc

    names = {d.name.lower(): d for d in subdirs}
    val_dir = next((names[a] for a in _VAL_ALIASES if a in names), None)
    if "train" in names and val_dir is not None:
        split_dirs = {"train": names["train"], "val": val_dir}
        if "test" in names:
            split_dirs["test"] = names["test"]
    else:
        split_dirs = {"all": root}

    skipped: list[SkippedFile] = []
    per_split = {split: _class_files(path, skipped) for split, path in split_dirs.items()}
    reference = per_split.get("train", per_split.get("all"))
    candidates = sorted(reference)

    checked, stats = _check_images(
        [f for files in per_split.values() for fs in files.values() for f in fs],
        max_megapixels, threads, progress, str(root) if incremental else None,
    )
    usable = {path for path, reason in checked.items() if reason is None}
    skipped += [SkippedFile(p, r) for p, r in checked.items() if r is not None]

    class_names = [c for c in candidates if any(f in usable for f in reference[c])]
    empty = [c for c in candidates if c not in class_names]
    index = {c: i for i, c in enumerate(class_names)}
    samples: dict[str, list[tuple[str, int]]] = {}
    for split, files in per_split.items():
        samples[split] = []
        for cls in sorted(files):
            good = [f for f in files[cls] if f in usable]
            if cls not in index:
                if split != "all" and split != "train" and good:
                    skipped += [SkippedFile(f, f"class '{cls}' is not in train/") for f in good]
                continue
            samples[split] += [(f, index[cls]) for f in good]
    scan = DatasetScan(str(root), class_names, samples, skipped, empty,
                       {path: stats[path] for items in samples.values() for path, _ in items})
    check_trainable(scan)
    return scan


def check_trainable(scan: DatasetScan) -> None:
    """Refuse folders with fewer than two usable classes, naming what was found."""
    hint = ("Put the images of each class in their own subfolder, e.g. "
            f"{scan.root}/cats/*.jpg and {scan.root}/dogs/*.jpg.")
    if not scan.class_names:
        detail = f" ({len(scan.skipped)} file(s) skipped, see the report)" if scan.skipped else ""
        raise DatasetError(f"No usable images found in {scan.root}{detail}. {hint}")
    if len(scan.class_names) == 1:
        raise DatasetError(
            f"Only one class ('{scan.class_names[0]}') has usable images in {scan.root}; "
            f"a classifier needs at least two. {hint}")
    if scan.presplit and not scan.samples.get("val"):
        raise DatasetError(f"The val/ folder in {scan.root} has no usable images.")


def _list_dir(path: Path) -> tuple[list[Path], list[Path]]:
    """Visible subfolders and files of ``path``, sorted by name."""
    dirs, files = [], []
    with os.scandir(path) as it:
        for entry in it:
            if entry.is_dir():
                dirs.append(Path(entry.path))
            else:
                files.append(Path(entry.path))
    return sorted(dirs), sorted(files)


def _class_files(split_root: Path, skipped: list[SkippedFile]) -> dict[str, list[str]]:
    """Image files under each visible class folder, recursing into nested folders."""
    out: dict[str, list[str]] = {}
    for class_dir in _list_dir(split_root)[0]:
        if class_dir.name.startswith("."):
            continue
        files: list[str] = []
        seen_dirs: set[str] = set()
        # A link to the dataset folder or one of its parents would walk every class into this one.
        anchors = (os.path.realpath(split_root), os.path.realpath(class_dir))
        for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=True,
                                                    onerror=lambda e: skipped.append(SkippedFile(
                                                        e.filename, f"cannot read folder ({e.strerror})"))):
            real = os.path.realpath(dirpath)
            if real in seen_dirs or _contains(real, anchors[0]) or (
                    dirpath != str(class_dir) and _contains(real, anchors[1])):
                skipped.append(SkippedFile(dirpath, "folder link loops back; not followed"))
                dirnames[:] = []
                continue
            seen_dirs.add(real)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if name.startswith("."):
                    skipped.append(SkippedFile(path, "hidden file"))
                elif not name.lower().endswith(IMG_EXTENSIONS):
                    skipped.append(SkippedFile(path, "not an image (file type "
                                               f"'{Path(name).suffix or 'none'}')"))
                else:
                    files.append(path)
        out[class_dir.name] = files
    return out


def _contains(folder: str, path: str) -> bool:
    """True when ``path`` is ``folder`` or inside it (both real paths)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _check_images(paths: list[str], max_megapixels: float, threads: int,
                  progress: Callable[[int, int], None] | None = None, incremental_root: str | None = None,
                  ) -> tuple[dict[str, str | None], dict[str, tuple[int, int]]]:
    """Each image's verdict (None: usable, else the reason), from its header or, for a file
    unchanged since the last scan of ``incremental_root``, from that scan; and each file's
    (size, modification time)."""
    known = scan_index.load_records(incremental_root, max_megapixels) if incremental_root else {}
    verdicts: dict[str, str | None] = {}
    stats: dict[str, tuple[int, int]] = {}
    todo = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            verdicts[path] = f"unreadable ({exc.strerror or exc})"
            continue
        stats[path] = (st.st_size, st.st_mtime_ns)
        record = known.get(path)
        if record is not None and record[:2] == stats[path]:
            verdicts[path] = record[2]
        else:
            todo.append(path)
    total, done = len(paths), len(paths) - len(todo)
    if progress:
        progress(done, total)
    step = max(1, total // 100)

    def checked(reasons: list[str | None], batch: list[str]) -> None:
        nonlocal done
        verdicts.update(zip(batch, reasons, strict=True))
        before, done = done, done + len(batch)
        if progress and (done // step > before // step or done == total):
            progress(done, total)

    # A header is parsed in Python under the GIL (~0.1 ms a file): past a few thousand files,
    # processes on the spare cores, in chunks; below that, threads as they always were.
    processes = worker_processes(os.cpu_count() or 1, len(todo), per_process=2000)
    if processes:
        chunks = [todo[i:i + 500] for i in range(0, len(todo), 500)]
        run_chunks(_check_chunk, [(c, max_megapixels) for c in chunks], processes,
                   lambda i, reasons: checked(reasons, chunks[i]))
    else:
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            for path, reason in zip(todo, pool.map(lambda p: image_problem(p, max_megapixels), todo),
                                    strict=True):
                checked([reason], [path])
    if incremental_root and (todo or known.keys() != stats.keys()):
        scan_index.save_records(incremental_root, max_megapixels,
                                {p: (*stats[p], verdicts[p]) for p in stats})
    return {p: verdicts[p] for p in paths}, stats


def _check_chunk(task: tuple[list[str], float]) -> list[str | None]:
    paths, max_megapixels = task
    return [image_problem(p, max_megapixels) for p in paths]


def image_problem(path: str, max_megapixels: float = 89.0) -> str | None:
    """Why ``path`` cannot be used as a training image, or None. Reads the header only."""
    try:
        if os.path.getsize(path) == 0:
            return "empty file (0 bytes)"
        with Image.open(path) as im:
            width, height = im.size
    except Image.DecompressionBombError as exc:
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(pixels.group(1)) / 1e6:,.0f} MP" if pixels else "its header's size"
        return (f"too large ({size}; Pillow refuses to decode images this big as a possible "
                "decompression bomb)")
    except UnidentifiedImageError:
        return _not_an_image(path)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    except Exception as exc:  # noqa: BLE001 — a malformed header must skip the file, never end the scan
        return f"not a valid image ({exc.__class__.__name__}: {exc})"
    if width < 1 or height < 1:
        return "image has no pixels"
    if width * height > max_megapixels * 1e6:
        return f"too large ({width}×{height} px is over the {max_megapixels:g} MP limit)"
    return None


def _not_an_image(path: str) -> str:
    """Why a file with an image name is not one, naming the usual culprits (web pages, text)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        head = b""
    start = head.lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start:
        return "not an image: it is a web page (HTML) saved with an image name"
    if b"\0" not in head:
        try:  # incremental: a character cut at the 512th byte is not a decoding error
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            pass
        else:
            return "not an image: it is a text file with an image name"
    return "not an image (content is not a recognised image format)"
