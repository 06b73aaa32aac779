"""Training and validation images as uint8 batches: from an in-memory cache or streamed from disk."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from workbench.config import iterations_per_epoch
from workbench.data.decode import decode_into, load_image


def cache_bytes(num_images: int, image_size: int) -> int:
    """Memory the uint8 cache of ``num_images`` images at ``image_size`` needs."""
    return num_images * 3 * image_size * image_size


def batch_indices(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """Split an index order into batches, folding a last single image into the batch before."""
    n = len(order)
    count = iterations_per_epoch(n, batch_size)
    bounds = [min(i * batch_size, n) for i in range(count)] + [n]
    return [order[bounds[i]:bounds[i + 1]] for i in range(count)]


class CachedImages:
    """Images decoded once into one uint8 tensor [N, 3, S, S]."""

    streaming = False
    failed: tuple = ()  # files that fail to decode are left out before the cache is built

    def __init__(self, samples: list[tuple[str, int]], image_size: int, threads: int = 0,
                 progress: Callable[[int, int], None] | None = None):
        paths = [p for p, _ in samples]
        self.images, kept, self.failed = decode_into(paths, image_size, threads, progress)
        self.paths = [paths[i] for i in kept]
        self.labels = torch.tensor([samples[i][1] for i in kept], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def nbytes(self) -> int:
        return self.images.numel()

    def subset(self, positions: list[int]) -> CachedImages:
        """These images (by position) as a cache of their own, without decoding anything again:
        how the folds of a cross-validation share one decode."""
        part = object.__new__(CachedImages)
        index = torch.as_tensor(positions, dtype=torch.long)
        part.images, part.labels = self.images.index_select(0, index), self.labels.index_select(0, index)
        part.paths = [self.paths[i] for i in positions]
        return part

    def to(self, device: torch.device) -> CachedImages:
        """Keep the cache on ``device`` (a GPU with room for it) so batches never cross the bus."""
        self.images, self.labels = self.images.to(device), self.labels.to(device)
        return self

    def batches(self, order: torch.Tensor, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = order.to(self.images.device)
        for idx in batch_indices(order, batch_size):
            yield self.images.index_select(0, idx), self.labels.index_select(0, idx)


class MappedImages:
    """Images of the disk cache (:mod:`workbench.data.disk_cache`): rows of one memory-mapped
    uint8 array [N, 3, S, S] holding a whole folder, read through the page cache. Train,
    validation, test and every fold are row selections of the same file; nothing is copied until
    a batch is gathered."""

    streaming = False

    def __init__(self, images: torch.Tensor, rows: torch.Tensor, labels: torch.Tensor, paths: list[str],
                 failed: list[tuple[str, str]] = ()):
        self.images, self.rows, self.labels, self.paths = images, rows, labels, paths
        self.failed = list(failed)

    @classmethod
    def select(cls, folder, samples: list[tuple[str, int]]) -> MappedImages:
        """``samples`` (``(path, label)``) of a :class:`~workbench.data.disk_cache.DecodedFolder`;
        files that failed to decode are left out and listed in ``failed``."""
        row_of = {path: i for i, path in enumerate(folder.paths)}
        rows, labels, paths, failed = [], [], [], []
        for path, label in samples:
            row = row_of[path]
            if row in folder.failed:
                failed.append((path, folder.failed[row]))
                continue
            rows.append(row)
            labels.append(label)
            paths.append(path)
        return cls(torch.from_numpy(folder.images), torch.tensor(rows, dtype=torch.long),
                   torch.tensor(labels, dtype=torch.long), paths, failed)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def nbytes(self) -> int:
        return len(self.rows) * self.images[0].numel() if len(self.images) else 0

    def subset(self, positions: list[int]) -> MappedImages:
        """These images (by position): more rows of the same file, nothing decoded or copied."""
        index = torch.as_tensor(positions, dtype=torch.long)
        return MappedImages(self.images, self.rows[index], self.labels[index],
                            [self.paths[i] for i in positions])

    def to(self, device: torch.device) -> MappedImages:
        """Copy these rows onto ``device`` (a GPU with room for them), a slice at a time so the
        host never holds them all at once."""
        out = torch.empty((len(self.rows), *self.images.shape[1:]), dtype=torch.uint8, device=device)
        for start in range(0, len(self.rows), 1024):
            out[start:start + 1024] = self.images.index_select(0, self.rows[start:start + 1024]).to(device)
        self.images, self.rows = out, torch.arange(len(out), device=device)
        self.labels = self.labels.to(device)
        return self

    def batches(self, order: torch.Tensor, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = order.to(self.rows.device)
        for idx in batch_indices(order, batch_size):
            yield self.images.index_select(0, self.rows[idx]), self.labels.index_select(0, idx)


class _FileDataset(Dataset):
    def __init__(self, paths: list[str], labels: list[int], image_size: int):
        self.paths, self.labels, self.image_size = paths, labels, image_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        try:
            image = torch.from_numpy(load_image(self.paths[i], self.image_size).transpose(2, 0, 1).copy())
            return image, self.labels[i], None
        except Exception as exc:  # noqa: BLE001 — a bad file is skipped, never a crash
            return None, self.labels[i], (self.paths[i], f"could not be decoded ({exc})")


def _collate(items):
    good = [(img, label) for img, label, _ in items if img is not None]
    failed = [err for _, _, err in items if err is not None]
    if not good:
        return torch.empty(0, dtype=torch.uint8), torch.empty(0, dtype=torch.long), failed
    return (torch.stack([g[0] for g in good]), torch.tensor([g[1] for g in good]), failed)


class _OrderedBatches:
    """A batch sampler whose order is set before each epoch, so one DataLoader (and its worker
    processes) serves every epoch instead of starting new workers each time."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class StreamingImages:
    """Images decoded from disk every epoch by loader processes: for sets over the memory budget."""

    streaming = True

    def __init__(self, samples: list[tuple[str, int]], image_size: int, workers: int = 2,
                 pin_memory: bool = False, on_failed: Callable[[str, str], None] | None = None):
        self.paths = [p for p, _ in samples]
        self.labels = torch.tensor([label for _, label in samples], dtype=torch.long)
        self.failed: list[tuple[str, str]] = []
        self._on_failed = on_failed  # told of each file that fails to decode, once
        self._sampler = _OrderedBatches()
        self._loader = DataLoader(
            _FileDataset(self.paths, self.labels.tolist(), image_size), batch_sampler=self._sampler,
            num_workers=workers, collate_fn=_collate, pin_memory=pin_memory,
            persistent_workers=workers > 0)

    def __len__(self) -> int:
        return len(self.labels)

    def batches(self, order: torch.Tensor, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self._sampler.batches = [b.tolist() for b in batch_indices(order, batch_size)]
        known = {path for path, _ in self.failed}
        held = None  # a batch cut to one image by bad files waits for the next: batch norm needs two
        for images, labels, failed in self._loader:
            for path, reason in failed:
                if path not in known:
                    known.add(path)
                    self.failed.append((path, reason))
                    if self._on_failed:
                        self._on_failed(path, reason)
            if held is not None and len(labels):
                images, labels, held = torch.cat([held[0], images]), torch.cat([held[1], labels]), None
            if len(labels) == 1:
                held = (images, labels)
            elif len(labels):
                yield images, labels


def load_images(samples: list[tuple[str, int]], image_size: int, *, cache: bool, workers: int,
                pin_memory: bool = False, progress: Callable[[int, int], None] | None = None,
                on_failed: Callable[[str, str], None] | None = None):
    """A :class:`CachedImages` when ``cache`` else a :class:`StreamingImages` over ``samples``.

    ``on_failed(path, reason)`` hears of each file that fails to decode: at once for the cache,
    during the epoch that first meets it when streaming."""
    if cache:
        # Decoding is CPU-bound: more threads than cores only fight over the GIL and starve a
        # window's event loop (4 threads on 2 cores stalled it ~65 ms; 2 threads, ~20 ms).
        threads = min(max(workers, 1) * 2, os.cpu_count() or 1)
        images = CachedImages(samples, image_size, threads=threads, progress=progress)
        for path, reason in images.failed:
            if on_failed:
                on_failed(path, reason)
        return images
    return StreamingImages(samples, image_size, workers=workers, pin_memory=pin_memory,
                           on_failed=on_failed)
