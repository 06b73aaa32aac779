"""What the window remembers between sessions: the settings, recent folders, its geometry."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings

from workbench.config import ConfigError, TrainConfig

MAX_RECENT = 8


class WindowSettings:
    """Reads and writes the window's entries of a QSettings file."""

    def __init__(self, settings: QSettings):
        self.settings = settings

    def recent_folders(self) -> list[str]:
        try:
            return list(json.loads(self.settings.value("recent_folders", "[]")))
        except (TypeError, ValueError):
            return []

    def remember_folder(self, folder: str) -> None:
        recent = [f for f in self.recent_folders() if f != folder]
        recent.insert(0, folder)
        self.settings.setValue("recent_folders", json.dumps(recent[:MAX_RECENT]))
        self.settings.setValue("last_folder", folder)

    def last_folder(self) -> str | None:
        folder = self.settings.value("last_folder")
        return folder if folder and Path(folder).is_dir() else None

    def config(self) -> TrainConfig | None:
        saved = self.settings.value("config")
        if not saved:
            return None
        try:
            return TrainConfig.from_dict(json.loads(saved))
        except (ConfigError, TypeError, ValueError):
            return None  # settings from another version: keep the defaults

    def save(self, config: TrainConfig, geometry, splitter) -> None:
        self.settings.setValue("config", json.dumps(config.to_dict()))
        self.settings.setValue("geometry", geometry)
        self.settings.setValue("splitter", splitter)
        self.settings.sync()

    def geometry(self):
        return self.settings.value("geometry")

    def splitter(self):
        return self.settings.value("splitter")
