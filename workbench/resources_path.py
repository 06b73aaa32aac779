"""Where the bundled resources are, in a checkout, an installed package or a frozen app."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resources_dir() -> Path:
    return Path(str(files("workbench.resources")))


def sample_data_dir() -> Path:
    """The bundled sample dataset: the default data for a first run and for the tests."""
    return resources_dir() / "sample_data"
