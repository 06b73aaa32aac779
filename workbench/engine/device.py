"""Choosing the device to train on."""

from __future__ import annotations

import torch

from workbench.config import ConfigError


def resolve_device(requested: str) -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; an explicit choice must exist."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if requested == "cuda" and not cuda:
        raise ConfigError(["device 'cuda' was chosen but no CUDA GPU is available; use auto or cpu"])
    if requested == "mps" and not mps:
        raise ConfigError(["device 'mps' was chosen but Apple's MPS is not available; use auto or cpu"])
    return torch.device(requested)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
