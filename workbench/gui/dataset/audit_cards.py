"""One image of an audit finding: its thumbnail, what it is, and what can be done with it."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from workbench.gui.common import pixmap_from_array
from workbench.safe_text import printable

CARD_THUMBNAIL_PX = 64
CARD_WIDTH = 140


class FileCard(QFrame):
    """``openFolder(path)`` and ``moveRequested(path)`` ask the audit view to act on the file."""

    openFolder = Signal(str)
    moveRequested = Signal(str)

    def __init__(self, path: str, caption: str, tip: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.path = path
        self.setObjectName("auditCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(CARD_WIDTH)
        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(CARD_THUMBNAIL_PX, CARD_THUMBNAIL_PX)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet("QLabel { background: palette(midlight); }")
        self.thumbnail.setAccessibleName(f"Thumbnail of {printable(os.path.basename(path))}")
        self.caption = QLabel(caption)
        self.caption.setWordWrap(True)
        self.caption.setToolTip(printable(path) + (f"\n{tip}" if tip else ""))
        self.open_button = _small_button("Open folder", f"Show the folder of {os.path.basename(path)}")
        # Bound methods, not lambdas holding self: PySide keeps no reference cycle to the card.
        self.open_button.clicked.connect(self._open_folder)
        self.move_button = _small_button("Move to class…", "Move this image into another class "
                                         "folder (asks first; nothing is deleted)")
        self.move_button.clicked.connect(self._move)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(self.thumbnail, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.caption)
        layout.addWidget(self.open_button)
        layout.addWidget(self.move_button)

    def _open_folder(self) -> None:
        self.openFolder.emit(self.path)

    def _move(self) -> None:
        self.moveRequested.emit(self.path)

    def set_image(self, image) -> None:
        if image is None:
            self.thumbnail.setText("✕")
            self.thumbnail.setToolTip("could not be decoded")
        else:
            self.thumbnail.setPixmap(pixmap_from_array(image))


def _small_button(text: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    font = button.font()
    font.setPointSizeF(font.pointSizeF() * 0.85)
    button.setFont(font)
    return button


def file_caption(entry: dict, root: str) -> str:
    """"circle · val\\nname.jpg" for an audit FILE entry."""
    where = " · ".join(printable(x) for x in (entry.get("class"), entry.get("split")) if x)
    return f"{where}\n{printable(_relative(entry['path'], root))}"


def issue_caption(issue: dict, root: str) -> str:
    return (f"#{issue['rank']} in '{printable(issue['class'])}' ({issue['given_probability']:.0%})\n"
            f"looks like '{printable(issue['suggested_class'])}' ({issue['suggested_probability']:.0%})\n"
            f"{printable(_relative(issue['path'], root))}")


def _relative(path: str, root: str) -> str:
    try:
        relative = os.path.relpath(path, root)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
