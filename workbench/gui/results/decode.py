"""Validation images decoded off the GUI thread for the gallery and the enlarged view."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThreadPool
from PySide6.QtGui import QPainter, QPalette, QPen, QPixmap

from workbench.data.decode import load_image, load_image_for_display
from workbench.gui.common import pixmap_from_array
from workbench.gui.offthread import run_in_pool


def decode_later(path: str, size: int, dpr: float, on_done: Callable[[QPixmap | None, str], None],
                 *, owner: QObject, pool: QThreadPool | None = None,
                 wanted: Callable[[], bool] | None = None, sharp: bool = False) -> None:
    """Decode ``path`` to about ``size`` px on a pool thread; ``on_done(pixmap, "")`` on the GUI
    thread, or ``on_done(None, why)`` for a file that cannot be read (never an exception).
    ``sharp``: enlarge a small image with nearest-neighbour (the enlarged view)."""
    load = load_image_for_display if sharp else load_image

    def shown(array) -> None:
        pixmap = pixmap_from_array(array)
        pixmap.setDevicePixelRatio(dpr)
        on_done(pixmap, "")

    run_in_pool(lambda: load(path, size), shown, lambda error: on_done(None, error),
                owner=owner, pool=pool, wanted=wanted)


def placeholder(size: int, palette: QPalette, broken: bool) -> QPixmap:
    """A blank square while an image loads; crossed out when it could not be read."""
    pixmap = QPixmap(size, size)
    pixmap.fill(palette.color(QPalette.ColorRole.Button))
    if broken:
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 3))
        m = size // 4
        painter.drawLine(m, m, size - m, size - m)
        painter.drawLine(size - m, m, m, size - m)
        painter.end()
    return pixmap
