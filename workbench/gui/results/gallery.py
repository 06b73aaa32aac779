"""The misclassified validation images of a run summary, as thumbnails decoded off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListView, QListWidget, QListWidgetItem

from workbench.gui.offthread import LatestRequest
from workbench.gui.results.decode import decode_later, placeholder
from workbench.gui.results.image_dialog import ImageDialog

THUMBNAIL_SIZE = 96
_ROLE_PATH = Qt.ItemDataRole.UserRole


class MisclassifiedGallery(QListWidget):
    """``label`` counts the mistakes; the list shows them. Activate one to see it larger."""

    thumbnailsLoaded = Signal()  # every thumbnail is in (decoded or marked unreadable)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Misclassified count")
        self.setAccessibleName("Misclassified images")
        self.setToolTip("Validation images the model got wrong. Double-click one to see it larger.")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        # Room for a two-line caption; word wrap needs a fixed grid to wrap against.
        self.setGridSize(QSize(THUMBNAIL_SIZE + 56, THUMBNAIL_SIZE + 42))
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # itemActivated covers double-click and Enter, so the larger view is reachable by keyboard.
        self.itemActivated.connect(lambda item: self.open_image(self.row(item)))
        self.pool = QThreadPool(self)
        # A few threads are plenty for 96 px thumbnails and leave cores to a training that may run.
        self.pool.setMaxThreadCount(max(1, min(4, QThreadPool.globalInstance().maxThreadCount())))
        self._request = LatestRequest()
        self.pending = 0

    def empty(self) -> None:
        """No images; thumbnails still queued are dropped, late ones ignored."""
        self._request.cancel()
        self.pool.clear()
        self.pending = 0
        self.clear()
        self.label.setText("")

    def show_summary(self, s: dict, matrix: list[list[int]]) -> None:
        wrong = list(s.get("misclassified") or [])
        total = sum(map(sum, matrix))
        errors = total - sum(matrix[i][i] for i in range(len(matrix)))
        if not matrix and not wrong:
            self.label.setText("No validation results: no epoch finished.")
        elif not wrong and errors == 0:
            self.label.setText("No validation image was misclassified.")
        else:
            errors = max(errors, len(wrong))
            text = f"{errors} of {total or s.get('n_val', '?')} validation images were misclassified"
            if not wrong:  # e.g. a summary.json written before the list existed
                text += " (the summary lists none of them)"
            elif len(wrong) < errors:  # the trainer keeps only the first few hundred
                text += f" (showing the first {len(wrong)})"
            self.label.setText(text + ".")
        if not wrong:
            self.thumbnailsLoaded.emit()
            return
        dpr = self.devicePixelRatioF()
        loading = QIcon(placeholder(THUMBNAIL_SIZE, self.palette(), broken=False))
        self.pending = len(wrong)
        wanted = self._request.next()
        for row, entry in enumerate(wrong):
            confidence = entry.get("confidence")
            conf = f" ({confidence:.1%})" if confidence is not None else ""
            item = QListWidgetItem(loading, f"{entry['true']} → {entry['predicted']}{conf}")
            item.setData(_ROLE_PATH, str(entry["path"]))
            item.setToolTip(f"{entry['path']}\ntrue: {entry['true']}, predicted: {entry['predicted']}"
                            f"{', confidence ' + conf.strip(' ()') if conf else ''}")
            self.addItem(item)
            decode_later(str(entry["path"]), round(THUMBNAIL_SIZE * dpr), dpr,
                         lambda pixmap, error, row=row: self._on_thumbnail(row, pixmap, error),
                         owner=self, pool=self.pool, wanted=wanted)

    def _on_thumbnail(self, row: int, pixmap, error: str) -> None:
        item = self.item(row)
        if item is None:
            return
        if pixmap is None:
            item.setIcon(QIcon(placeholder(THUMBNAIL_SIZE, self.palette(), broken=True)))
            item.setToolTip(f"{item.toolTip()}\nCould not open: {error}")
        else:
            item.setIcon(QIcon(pixmap))
        self.pending -= 1
        if self.pending == 0:
            self.thumbnailsLoaded.emit()

    def open_image(self, row: int) -> ImageDialog | None:
        """Open item ``row`` larger in a non-modal dialog; returns the dialog."""
        item = self.item(row)
        if item is None:
            return None
        dialog = ImageDialog(item.data(_ROLE_PATH), item.text(), self.pool, self.window())
        dialog.show()
        return dialog
