"""Colour maths for the confusion matrix: shading blended into the theme's base colour."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

# Shading hues; blended into the palette's base colour so the same hues work on light and dark themes.
GOOD = QColor(46, 160, 67)
BAD = QColor(215, 58, 73)


def blend(base: QColor, hue: QColor, amount: float) -> QColor:
    a = max(0.0, min(1.0, amount))
    return QColor(round(base.red() * (1 - a) + hue.red() * a),
                  round(base.green() * (1 - a) + hue.green() * a),
                  round(base.blue() * (1 - a) + hue.blue() * a))


def text_colour_for(background: QColor) -> QColor:
    # Relative luminance decides black or white text, so shaded cells stay readable whatever
    # the theme's own text colour is.
    lum = 0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF()
    return QColor(Qt.GlobalColor.black) if lum > 0.45 else QColor(Qt.GlobalColor.white)


def cell_colour(base: QColor, share: float, diagonal: bool) -> QColor:
    """Background of a confusion-matrix cell holding ``share`` (0..1) of its true class's images.

    An empty cell keeps the base colour; otherwise the intensity starts visibly above zero so a
    single stray prediction still stands out.
    """
    if share <= 0:
        return QColor(base)
    return blend(base, GOOD if diagonal else BAD, 0.15 + 0.7 * share)
