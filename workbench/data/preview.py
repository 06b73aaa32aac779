"""What augmentation does to training images, as plain arrays a window can show.

The preview goes through the same ``BatchAugmenter`` as training, so what the user sees is
what the model gets (before normalisation); with MixUp / CutMix on, the random batch is mixed
as a training batch is (the same image's variants are not: mixing needs a batch of others).
"""

from __future__ import annotations

import numpy as np
import torch

from workbench.config import TrainConfig
from workbench.data.augment import BatchAugmenter
from workbench.data.decode import load_image
from workbench.data.mixing import BatchMixer, dominant_labels
from workbench.models import normalization


def augmentation_preview(samples: list[tuple[str, int]], config: TrainConfig, *, variants: int = 8,
                         random_count: int = 8, seed: int = 0) -> dict:
    """Augmented examples of ``samples`` (training ``(path, class_index)`` pairs) under ``config``.

    Returns plain values: ``source`` (HxWx3 uint8, the first image that decodes, or None when
    none does), ``source_class`` (its class index, or None), ``variants`` (``variants`` augmented
    copies of that same image) and ``random`` (``(image, class_index)`` for up to
    ``random_count`` randomly chosen samples, each augmented once). Under MixUp / CutMix that
    batch is mixed, each image's class index is its dominant label, and ``random_mix`` gives each
    image's ``[(class_index, share), …]``, largest share first (empty lists when not mixing).
    Images are ``config.image_size`` square. Files that fail to decode are skipped. The same
    ``seed`` gives the same result.
    """
    size = config.image_size
    augmenter = BatchAugmenter(config.augment, *normalization(config.model, config.pretrained,
                                                              config.weights_path))
    # One generator drives the random pick and both augmentation calls, so a seed fixes all three.
    generator = torch.Generator().manual_seed(seed)

    source, source_class = None, None
    for path, label in samples:
        source = _try_load(path, size)
        if source is not None:
            source_class = label
            break

    out: dict = {"source": source, "source_class": source_class, "variants": [], "random": [],
                 "random_mix": []}
    if source is None:
        return out
    if variants > 0:
        out["variants"] = _augment(augmenter, [source] * variants, generator)

    picked: list[tuple[np.ndarray, int]] = []
    if random_count > 0:
        # Walk a random permutation rather than drawing a fixed count, so undecodable files are
        # replaced by the next candidate instead of shrinking the batch.
        for index in torch.randperm(len(samples), generator=generator).tolist():
            path, label = samples[index]
            image = _try_load(path, size)
            if image is not None:
                picked.append((image, label))
                if len(picked) == random_count:
                    break
    if picked:
        labels = torch.tensor([label for _, label in picked])
        mixer = BatchMixer(config.augment, num_classes=max(label for _, label in samples) + 1)
        augmented, targets = _augment(augmenter, [image for image, _ in picked], generator, mixer, labels)
        dominant = dominant_labels(targets).tolist()
        out["random"] = [(image, label) for image, label in zip(augmented, dominant, strict=True)]
        out["random_mix"] = _shares(targets) if mixer.enabled else [[] for _ in picked]
    return out


def _try_load(path: str, size: int) -> np.ndarray | None:
    try:
        return load_image(path, size)
    except Exception:  # noqa: BLE001 — any decoder failure means: leave this file out
        return None


def _augment(augmenter: BatchAugmenter, images: list[np.ndarray], generator: torch.Generator,
             mixer: BatchMixer | None = None, labels: torch.Tensor | None = None):
    """Augment HxWx3 uint8 images in one batched call; back to HxWx3 uint8 arrays. With a
    ``mixer`` the batch is mixed as well, and ``(arrays, targets)`` comes back."""
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        augmented = augmenter.augment(batch, generator)
        if mixer is not None:
            augmented, targets = mixer(augmented, labels, generator)
    as_uint8 = augmented.mul(255).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    arrays = [np.array(image, order="C") for image in as_uint8.numpy()]
    return arrays if mixer is None else (arrays, targets)


def _shares(targets: torch.Tensor) -> list[list[tuple[int, float]]]:
    """Each soft target's classes with a share, largest first."""
    out = []
    for row in targets.tolist():
        present = [(k, share) for k, share in enumerate(row) if share > 1e-6]
        out.append(sorted(present, key=lambda item: -item[1]))
    return out
