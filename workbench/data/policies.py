"""torchvision's augmentation policies and random erasing, drawn afresh for every image of a batch.

A ``transforms.v2`` policy (RandAugment, TrivialAugmentWide, AutoAugment) called on a batch draws
one set of operations for the whole batch, so here it is called once per image: about a
millisecond per 64 px image on one CPU core, paid only when a policy is on. The v2 transforms
draw from torch's global random stream; :func:`seeded_from` runs them on a stream seeded from the
run's augmentation generator, so a seed (and a resumed run) repeats them, and the global stream
is left as it was.
"""

from __future__ import annotations

import contextlib
import threading

import torch
from torchvision.transforms import v2

from workbench.config import AugmentConfig

# torchvision's RandomErasing defaults: 2–33 % of the area, aspect ratio 0.3–3.3.
ERASING_SCALE = (0.02, 0.33)
ERASING_RATIO = (0.3, 3.3)


@contextlib.contextmanager
def seeded_from(generator: torch.Generator | None):
    """Run the block on torch's global CPU stream seeded from ``generator`` (which advances by one
    draw); without a generator the global stream is used as it is."""
    if generator is None:
        yield
        return
    seed = int(torch.randint(0, 2**62, (), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def make_policy(config: AugmentConfig) -> v2.Transform | None:
    """The configured torchvision policy for one uint8 [3, H, W] image, or None."""
    if not config.enabled or config.policy == "none":
        return None
    if config.policy == "randaugment":
        return v2.RandAugment(num_ops=config.randaugment_num_ops, magnitude=config.randaugment_magnitude)
    if config.policy == "trivialaugment":
        return v2.TrivialAugmentWide()
    if config.policy == "autoaugment":
        return v2.AutoAugment(v2.AutoAugmentPolicy(config.autoaugment_policy))
    raise ValueError(f"unknown augmentation policy {config.policy!r}")


def make_eraser(config: AugmentConfig, fill: list[float]) -> v2.RandomErasing | None:
    """Random erasing of one image with ``fill`` (one value per channel), or None when off."""
    if not config.enabled or config.random_erasing <= 0:
        return None
    return v2.RandomErasing(p=config.random_erasing, scale=ERASING_SCALE, ratio=ERASING_RATIO,
                            value=fill)


def per_image(transform: v2.Transform, images: torch.Tensor) -> torch.Tensor:
    """``transform`` applied to each image of ``images`` [B, C, H, W] with its own random draw."""
    if images.device.type != "cpu":
        return torch.stack([transform(image) for image in images])
    with _one_cpu_thread():
        return torch.stack([transform(image) for image in images])


_threads_lock = threading.Lock()
_threads_users = 0
_threads_saved = 0


@contextlib.contextmanager
def _one_cpu_thread():
    """torch's CPU ops on one thread for the block. Spread over threads, the small per-image ops
    cost more in hand-offs than they compute: RandAugment on 32 images of 32 px took 626 ms with
    2 threads on a busy 2-core machine and 32 ms with one. The thread count is process-wide, so
    overlapping blocks (training and the window's preview) restore it once, when the last ends."""
    global _threads_users, _threads_saved
    with _threads_lock:
        if _threads_users == 0:
            _threads_saved = torch.get_num_threads()
            torch.set_num_threads(1)
        _threads_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_saved)
