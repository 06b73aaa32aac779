"""The misclassified validation images of a run summary, as thumbnails decoded off the GUI thread,
with Grad-CAM heat maps of the predicted or the true class over them on request."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QLabel, QListView, QListWidget, QListWidgetItem

from workbench.gui.common import pixmap_from_array
from workbench.gui.offthread import LatestRequest, run_in_pool
from workbench.gui.results.decode import decode_later, placeholder
from workbench.gui.results.image_dialog import ImageDialog

THUMBNAIL_SIZE = 96
_ROLE_PATH = Qt.ItemDataRole.UserRole


class MisclassifiedGallery(QListWidget):
    """``label`` counts the mistakes; the list shows them. Activate one to see it larger."""

    thumbnailsLoaded = Signal()  # every thumbnail is in (decoded or marked unreadable)
    heatMapsShown = Signal()  # every image has its heat map for the chosen class (or a reason)

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
        self.heat_mode = QComboBox()
        self.heat_mode.setAccessibleName("Heat maps")
        self.heat_mode.setToolTip("Lay a Grad-CAM heat map over each image: where the model found its "
                                  "evidence for the class it predicted, or for the true class")
        for text, mode in (("No heat maps", None), ("Heat maps: predicted class", "predicted"),
                           ("Heat maps: true class", "true")):
            self.heat_mode.addItem(text, mode)
        self.heat_mode.currentIndexChanged.connect(self._show_heat_mode)
        self._run_dir: str | None = None
        self._wanted = None  # the current summary's request token
        self._entries: list[dict] = []
        self._thumbnails: dict[int, QIcon] = {}
        self._overlays: dict[tuple[int, str], QIcon] = {}
        self._explainer = None  # made on the pool the first time heat maps are asked for
        self._heat_pending = 0

    def empty(self) -> None:
        """No images; thumbnails still queued are dropped, late ones ignored."""
        self._request.cancel()
        self.pool.clear()
        self.pending = 0
        self.clear()
        self.label.setText("")
        self._run_dir, self._entries, self._explainer, self._heat_pending = None, [], None, 0
        self._thumbnails, self._overlays = {}, {}

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
        wanted = self._wanted = self._request.next()
        self._run_dir, self._entries = s.get("run_dir"), wrong
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
            self._thumbnails[row] = QIcon(pixmap)
            mode = self.heat_mode.currentData()
            if mode is None or (row, mode) not in self._overlays:
                item.setIcon(self._thumbnails[row])
        self.pending -= 1
        if self.pending == 0:
            self.thumbnailsLoaded.emit()
            self._show_heat_mode()  # a mode chosen before the thumbnails came in

    # Heat maps ---------------------------------------------------------------------------------
    def _show_heat_mode(self) -> None:
        """Show the chosen mode's overlays where computed, and compute the missing ones."""
        mode = self.heat_mode.currentData()
        for row in range(self.count()):
            icon = self._overlays.get((row, mode)) if mode else None
            icon = icon or self._thumbnails.get(row)
            if icon is not None:
                self.item(row).setIcon(icon)
        if not mode or not self._entries or self.pending or not self._run_dir:
            return
        missing = [row for row in range(len(self._entries)) if (row, mode) not in self._overlays]
        if not missing:
            self.heatMapsShown.emit()
            return
        if self._explainer is None:
            run_dir, wanted = self._run_dir, self._wanted
            run_in_pool(lambda: _explainer_of(run_dir), self._explainer_ready,
                        lambda error: self.label.setText(f"{self.label.text()} No heat maps: {error}"),
                        owner=self, pool=self.pool, wanted=wanted)
            return
        self._heat_pending = len(missing)
        size = round(THUMBNAIL_SIZE * self.devicePixelRatioF())
        explainer = self._explainer
        for row in missing:
            entry = self._entries[row]
            path, target = str(entry["path"]), entry[mode]
            run_in_pool(lambda p=path, t=target: explainer.overlay_of_file(p, t, size=size)[0],
                        lambda overlay, row=row, m=mode: self._on_overlay(row, m, overlay),
                        lambda error, row=row, m=mode: self._on_overlay(row, m, None, error),
                        owner=self, pool=self.pool, wanted=self._wanted)

    def _explainer_ready(self, explainer) -> None:
        self._explainer = explainer
        self._show_heat_mode()

    def _on_overlay(self, row: int, mode: str, overlay, error: str = "") -> None:
        item = self.item(row)
        if item is None:
            return
        if overlay is not None:
            pixmap = pixmap_from_array(overlay)
            pixmap.setDevicePixelRatio(self.devicePixelRatioF())
            self._overlays[(row, mode)] = QIcon(pixmap)
            if self.heat_mode.currentData() == mode:
                item.setIcon(self._overlays[(row, mode)])
        else:
            item.setToolTip(f"{item.toolTip()}\nNo heat map: {error}")
        self._heat_pending -= 1
        if self._heat_pending == 0:
            self.heatMapsShown.emit()

    def open_image(self, row: int) -> ImageDialog | None:
        """Open item ``row`` larger in a non-modal dialog; returns the dialog."""
        item = self.item(row)
        if item is None:
            return None
        dialog = ImageDialog(item.data(_ROLE_PATH), item.text(), self.pool, self.window())
        dialog.show()
        return dialog


def _explainer_of(run_dir: str):
    """The Grad-CAM explainer of a run's best checkpoint (on a pool thread: loads the model)."""
    from workbench.explain import Explainer
    from workbench.predict import Predictor

    return Explainer.for_model(Predictor.load(run_dir))
