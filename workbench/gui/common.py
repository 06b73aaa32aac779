"""Small pieces several views share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton


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


def open_folder(path: str | Path) -> bool:
    """Show the folder ``path`` in the system's file manager; False if it is gone or none opened."""
    folder = Path(path)
    return folder.is_dir() and QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
