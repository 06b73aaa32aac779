"""From a folder to training and validation image sources, ready for batches."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from workbench.config import TrainConfig
from workbench.data.disk_cache import DecodedFolder, open_or_fill
from workbench.data.scan import DatasetError, DatasetScan, SkippedFile, scan_image_folder
from workbench.data.split import stratified_split
from workbench.resources_path import sample_data_dir

if TYPE_CHECKING:
    from workbench.data.loader import CachedImages, MappedImages, StreamingImages

NO_VALIDATION_IMAGES = "No images left for validation; add images or raise the validation fraction."


class DataSplit(NamedTuple):
    """``(path, label)`` lists: training, validation, and the held-out test set (may be empty)."""

    train: list[tuple[str, int]]
    val: list[tuple[str, int]]
    test: list[tuple[str, int]]


@dataclass
class PreparedData:
    scan: DatasetScan
    train: CachedImages | MappedImages | StreamingImages
    val: CachedImages | MappedImages | StreamingImages | None  # None: no validation split
    decode_seconds: float = 0.0  # filling the memory or disk cache (0: streaming, or found ready)
    test: CachedImages | MappedImages | StreamingImages | None = None  # scored once, at the end

    @property
    def class_names(self) -> list[str]:
        return self.scan.class_names


def data_dir_of(config: TrainConfig) -> str:
    return str(config.data_dir) if config.data_dir else str(sample_data_dir())


def split_dataset(scan: DatasetScan, config: TrainConfig) -> DataSplit:
    """The folder's own train/val(/test) split, else a seeded stratified one: the test set is
    carved out first (``test_fraction`` of each class), then validation takes ``val_fraction`` of
    the whole from what is left. With no test fraction the split is what it always was."""
    if scan.presplit:
        train, val = scan.samples["train"], scan.samples["val"]
        if config.val_fraction == 0:  # no validation: the val/ images train too
            train, val = train + val, []
        return DataSplit(train, val, scan.samples.get("test", []))
    rest, test = scan.samples["all"], []
    if config.test_fraction > 0:
        rest, test = stratified_split(rest, config.test_fraction, config.seed)
    if config.val_fraction == 0:
        return DataSplit(sorted(rest), [], test)
    val_share = config.val_fraction / (1 - config.test_fraction)
    train, val = stratified_split(rest, val_share, config.seed)
    return DataSplit(train, val, test)


def split_samples(scan: DatasetScan, config: TrainConfig):
    """Training and validation ``(path, label)`` lists (the test set kept out)."""
    split = split_dataset(scan, config)
    return split.train, split.val


def prepare_data(config: TrainConfig, *, log: Callable[[str], None] = print,
                 progress: Callable[[int, int], None] | None = None,
                 pin_memory: bool = False, scan: DatasetScan | None = None) -> PreparedData:
    """Scan (unless ``scan`` of the same folder is given), split and load: decoded into memory
    when the set fits ``cache_budget_mb``, else read from the disk cache (filled first unless a
    run before filled it), else decoded from disk every epoch."""
    # Here, not at the top: the window splits folders (split_samples) before torch is loaded.
    from workbench.data.loader import MappedImages, cache_bytes, load_images

    if scan is None or scan.root != data_dir_of(config):
        scan = scan_image_folder(data_dir_of(config), config.max_image_megapixels)
    train_samples, val_samples, test_samples = split_dataset(scan, config)
    if not val_samples and config.val_fraction > 0:
        raise DatasetError(NO_VALIDATION_IMAGES)
    if scan.presplit and config.test_fraction > 0:
        log(f"The folder has its own split{' with a test/ folder' if test_samples else ''}: the test "
            "fraction setting is not used.")
    needed = cache_bytes(len(train_samples) + len(val_samples) + len(test_samples), config.image_size)
    cache = needed <= config.cache_budget_mb * 2**20
    folder = None
    if cache:
        log(f"Decoding {len(train_samples) + len(val_samples)} images into memory "
            f"({needed / 2**20:.0f} MB at {config.image_size} px).")
    else:
        over = (f"The images need {needed / 2**20:.0f} MB at {config.image_size} px, over the "
                f"{config.cache_budget_mb} MB cache budget")
        log(f"{over}: using the disk cache." if config.disk_cache_mb else
            f"{over}: decoding from disk every epoch (the disk cache is off).")
        folder = open_disk_cache(scan, config, log=log, progress=progress)
    total = len(train_samples) + len(val_samples)

    def train_progress(done: int, _n: int) -> None:
        if progress:
            progress(done, total)

    def val_progress(done: int, _n: int) -> None:
        if progress:
            progress(len(train_samples) + done, total)

    listed = {s.path for s in scan.skipped}  # a scan reused for a second run already lists them

    def skip(path: str, reason: str) -> None:
        if path not in listed:
            listed.add(path)
            scan.skipped.append(SkippedFile(path, reason))
        log(f"Skipped {path}: {reason}")

    def source(samples, progress=None):
        if folder is not None:
            images = MappedImages.select(folder, samples)
            for path, reason in images.failed:
                skip(path, reason)
            return images
        return load_images(samples, config.image_size, cache=cache, workers=config.workers,
                           pin_memory=pin_memory, progress=progress, on_failed=skip)

    started = time.perf_counter()
    train = source(train_samples, train_progress)
    val = source(val_samples, val_progress) if val_samples else None
    test = None
    if test_samples:
        log(f"Test set: {len(test_samples)} images kept apart, scored once at the end.")
        test = source(test_samples)
    decode_seconds = time.perf_counter() - started if cache else folder.seconds if folder else 0.0
    if cache:
        log(f"Decoded {total} images in {decode_seconds:.1f} s "
            f"({total / max(decode_seconds, 1e-9):.0f} images/s).")
    if len(train) == 0 or (val is not None and len(val) == 0):
        raise DatasetError("No decodable images left for training or validation.")
    return PreparedData(scan, train, val, decode_seconds, test)


def open_disk_cache(scan: DatasetScan, config: TrainConfig, *, log: Callable[[str], None] = print,
                    progress: Callable[[int, int], None] | None = None) -> DecodedFolder | None:
    """Every usable image of the scanned folder at ``config.image_size`` from the disk cache,
    decoded into it first unless a run before did; None when the disk cache is off or cannot hold
    them (the reason logged). One entry serves every split, fold and trial of the folder."""
    if not config.disk_cache_mb:
        return None
    paths = sorted({path for items in scan.samples.values() for path, _ in items})
    return open_or_fill([(path, *_file_stat(scan, path)) for path in paths], config.image_size,
                        folder=scan.root, limit_bytes=config.disk_cache_mb * 2**20,
                        workers=config.workers, log=log, progress=progress)


def _file_stat(scan: DatasetScan, path: str) -> tuple[int, int]:
    """(size, modification time in ns) as the scan saw the file, else as it is now."""
    if path in scan.file_stats:
        return scan.file_stats[path]
    try:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    except OSError:  # gone: it fails to decode, and is skipped with that reason
        return -1, -1
