"""One validation image at a larger size."""

from __future__ import annotations

from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from workbench.gui.results.decode import decode_later

LARGE_SIZE = 448


class ImageDialog(QDialog):
    """Decoded off the GUI thread like the thumbnails; closing it drops a decode still running."""

    def __init__(self, path: str, caption: str, pool: QThreadPool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(caption)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.image_label = QLabel("Loading…")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(LARGE_SIZE, LARGE_SIZE)
        self.image_label.setAccessibleName("Image")
        # The model saw the centre square of each image, so that is what is shown here too.
        note = QLabel(f"{caption}\n{path}\n(centre square, as the model saw it)")
        note.setWordWrap(True)
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close")
        close.setToolTip("Close this image")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image_label, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self._open = True
        dpr = self.devicePixelRatioF()
        decode_later(path, round(LARGE_SIZE * dpr), dpr, self._on_decoded, owner=self, pool=pool,
                     wanted=lambda: self._open, sharp=True)

    def _on_decoded(self, pixmap, error: str) -> None:
        if pixmap is None:
            self.image_label.setText(f"Could not open this image:\n{error}")
        else:
            self.image_label.setPixmap(pixmap)

    def done(self, result: int) -> None:
        self._open = False
        super().done(result)
