"""The Dataset tab: scanning the chosen folder off the GUI thread, its overview, and below it
the augmentation preview of its training split and the audit (duplicates, leakage, labels)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QTabWidget

from workbench.config import TrainConfig
from workbench.gui.dataset.audit import AuditView
from workbench.gui.dataset.panel import DatasetPanel
from workbench.gui.dataset.preview import AugmentationPreview
from workbench.gui.offthread import LatestRequest, run_in_pool

PROGRESS_FROM_FILES = 2000  # folders with fewer files are scanned in well under a second


class DatasetTab(QSplitter):
    """``open_folder(path, …)`` scans; ``scanned`` fires with the DatasetScan, or None and why."""

    scanned = Signal(object, object)  # DatasetScan or None, error message or None
    # (images checked, of total) while a scan runs; emitted on the pool thread, queued to the panel.
    scanProgress = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.scan = None
        self.error: str | None = None  # why the last folder cannot be trained on
        self.panel = DatasetPanel()
        self.preview = AugmentationPreview()
        self.preview.setToolTip("Training images as the model sees them after random augmentation; "
                                "changes with the augmentation settings.")
        self.audit = AuditView()
        self.audit.rescanRequested.connect(self._rescan)
        self.pages = QTabWidget()
        self.pages.setAccessibleName("Dataset pages")
        self.pages.addTab(self.preview, "Augmentation preview")
        self.pages.addTab(self.audit, "Audit")
        self.addWidget(self.panel)
        self.addWidget(self.pages)
        self._scan_request = LatestRequest()  # a newer folder replaces a scan still running
        self._max_megapixels = 89.0
        self.scanProgress.connect(self.panel.show_progress, Qt.ConnectionType.QueuedConnection)

    def open_folder(self, path: str | Path, max_megapixels: float) -> None:
        from workbench.data.scan import scan_image_folder

        path, self._max_megapixels = str(path), max_megapixels
        wanted = self._scan_request.next()

        def progress(done: int, total: int) -> None:
            if wanted() and total >= PROGRESS_FROM_FILES:  # a small folder is scanned at once
                self.scanProgress.emit(done, total)

        run_in_pool(lambda: scan_image_folder(path, max_megapixels, progress=progress), self._on_scanned,
                    self._on_refused, owner=self, wanted=wanted)

    def _on_scanned(self, scan) -> None:
        self.scan, self.error = scan, None
        self.panel.show_scan(scan)
        self.audit.set_scan(scan)
        self.scanned.emit(scan, None)

    def _on_refused(self, message: str) -> None:
        self.scan, self.error = None, message
        self.panel.show_error(message)  # which drops the previous folder's thumbnails
        self.preview.set_samples([], [])  # and its augmentation preview
        self.audit.set_scan(None)
        self.scanned.emit(None, message)

    def _rescan(self) -> None:
        """A file was moved to another class folder: the counts and splits change."""
        if self.scan is not None:
            self.open_folder(self.scan.root, self._max_megapixels)

    def show_split(self, config: TrainConfig) -> int | None:
        """Preview the training split ``config`` makes of the scan; its size (None: no scan)."""
        from workbench.data.prepare import split_samples

        self.audit.set_config(config)
        if self.scan is None:
            return None
        train, _val = split_samples(self.scan, config)
        self.preview.set_samples(train, self.scan.class_names)
        self.preview.set_config(config)
        return len(train)

    def show_skipped(self, skipped: list) -> None:
        """Files the run could not decode join the list of skipped files."""
        if self.scan is not None:
            self.panel.show_skipped(skipped, self.scan.root)
