"""MixUp and CutMix (torchvision ``transforms.v2``): training batches of blended images with soft targets.

They act on a whole batch after the per-image augmentation: each image is blended with (MixUp) or
gets a rectangle pasted from (CutMix) its neighbour in the shuffled batch, and its target becomes
the two labels' probabilities in the same proportion. As in torchvision, one mixing ratio is drawn
per batch. Both are linear in the pixels, so mixing normalised images is the same as normalising
mixed ones. Validation is never mixed: only the training step calls a mixer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from workbench.config import AugmentConfig
from workbench.data.policies import seeded_from


class BatchMixer:
    """``mixer(images, labels, generator)`` → ``(images, targets)``.

    Off (no MixUp or CutMix alpha), the batch and its class indices come back untouched. On,
    targets are always probabilities [B, classes], one-hot for a batch left unmixed (the share
    ``1 - mix_probability``), so the loss sees one kind of target. With both on, each mixed batch
    gets one of the two with equal chance (torchvision's RandomChoice).
    """

    def __init__(self, config: AugmentConfig, num_classes: int):
        self.num_classes = num_classes
        self.probability = config.mix_probability
        self.mixers: list[v2.Transform] = []
        if config.is_mixing:
            if config.mixup_alpha > 0:
                self.mixers.append(v2.MixUp(alpha=config.mixup_alpha, num_classes=num_classes))
            if config.cutmix_alpha > 0:
                self.mixers.append(v2.CutMix(alpha=config.cutmix_alpha, num_classes=num_classes))

    @property
    def enabled(self) -> bool:
        return bool(self.mixers)

    def __call__(self, images: torch.Tensor, labels: torch.Tensor,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.mixers:
            return images, labels
        with seeded_from(generator):
            if float(torch.rand(())) >= self.probability:
                return images, F.one_hot(labels, self.num_classes).float()
            mixer = self.mixers[int(torch.randint(len(self.mixers), ()))]
            return mixer(images, labels)


def dominant_labels(targets: torch.Tensor) -> torch.Tensor:
    """The class each target mostly is: the label itself, or a soft target's largest share (the
    image that covers more of a MixUp blend or a CutMix paste). Training accuracy counts these."""
    return targets.argmax(1) if targets.ndim == 2 else targets
