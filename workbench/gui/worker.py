"""Kept only for ``settings_form``'s import (that module is being regenerated in another change);
the run lives in :mod:`workbench.gui.training`. Remove once settings_form imports from there."""

from workbench.gui.training.controller import processes_from_environment

__all__ = ["processes_from_environment"]
