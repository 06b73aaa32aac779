"""Small pieces several views share."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton


class CallSignals(QObject):
    """Brings a :class:`PoolTask`'s outcome back to the GUI thread (a queued signal)."""

    done = Signal(int, object, object)  # request id, result, error message (None on success)


class PoolTask(QRunnable):
    """Runs ``fn()`` on a thread pool; the result or the error text comes back through ``signals.done``.

    The request id lets a view drop results of requests it has since replaced.
    """

    def __init__(self, request: int, fn, signals: CallSignals):
        super().__init__()
        self.request, self.fn, self.signals = request, fn, signals

    def run(self) -> None:
        try:
            result, error = self.fn(), None
        except Exception as exc:  # noqa: BLE001 — reported to the user, never raised on a pool thread
            result, error = None, str(exc) or exc.__class__.__name__
        try:
            self.signals.done.emit(self.request, result, error)
        except RuntimeError:
            pass  # the view was closed while this ran; nobody is waiting for the result


def pixmap_from_array(image: np.ndarray) -> QPixmap:
    """A QPixmap of an HxWx3 uint8 RGB array. Call on the GUI thread; the pixmap owns a copy."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape[:2]
    qimage = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_RGB888)
    # QImage only borrows the numpy buffer; copy before the array can be freed.
    return QPixmap.fromImage(qimage.copy())


def bold_label(text: str) -> QLabel:
    """A section heading: the label font, bold."""
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def action_button(text: str, name: str, tip: str, slot) -> QPushButton:
    """A push button with its accessible name and one-sentence tooltip, wired to ``slot``."""
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button
