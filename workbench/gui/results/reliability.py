"""The reliability diagram of ``summary["calibration"]``: accuracy against confidence per bin.

A calibrated model's bars sit on the diagonal (of the predictions it is 80 % sure of, 80 % are
right); bars below it are over-confidence. Both the raw probabilities and the temperature-scaled
ones are drawn, with the expected calibration error (ECE) of each.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from workbench.gui.plots import curve_plot

BEFORE_BRUSH = pg.mkBrush(150, 150, 150, 170)
AFTER_BRUSH = pg.mkBrush("#1f77b4")
DIAGONAL_PEN = pg.mkPen("#d62728", width=1.5, style=Qt.PenStyle.DashLine)
NO_CALIBRATION = ("No calibration recorded: the run has no validation images, or was trained "
                  "before Workbench fitted a temperature.")


def bars(rows: list[dict], offset: float) -> tuple[np.ndarray, np.ndarray]:
    """Bar centres (shifted by ``offset``) and heights (accuracy) of the non-empty bins."""
    full = [r for r in rows if r.get("count")]
    x = np.array([(r["low"] + r["high"]) / 2 + offset for r in full], dtype=float)
    return x, np.array([r["accuracy"] for r in full], dtype=float)


class ReliabilityDiagram(QWidget):
    """A plot (bars before/after temperature scaling, the diagonal) above a line of numbers."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Reliability diagram")
        self.plot = curve_plot("Reliability (validation)", "Reliability plot", "accuracy", "confidence")
        self.plot.setToolTip("Of the validation images predicted with a confidence in each bin, the "
                             "share that was right. On the dashed diagonal, confidence means what it "
                             "says; below it, the model is over-confident.")
        self.plot.setXRange(0, 1, padding=0.02)
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.setMouseEnabled(x=False, y=False)
        self.diagonal = self.plot.plot([0, 1], [0, 1], pen=DIAGONAL_PEN, name="perfectly calibrated")
        self.before = pg.BarGraphItem(x=[], height=[], width=0.04, brush=BEFORE_BRUSH, pen=None)
        self.after = pg.BarGraphItem(x=[], height=[], width=0.04, brush=AFTER_BRUSH, pen=None)
        legend = self.plot.plotItem.legend
        for item, name in ((self.before, "before"), (self.after, "calibrated")):
            self.plot.addItem(item)
            legend.addItem(item, name)
        legend.anchor((0, 0), (0, 0), offset=(10, 10))  # top left: the bars rise on the right
        self.numbers = QLabel(NO_CALIBRATION)
        self.numbers.setWordWrap(True)
        self.numbers.setTextFormat(Qt.TextFormat.PlainText)
        self.numbers.setAccessibleName("Calibration numbers")
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.numbers)

    def show_calibration(self, calibration: dict | None) -> None:
        """Draw ``summary["calibration"]`` (None or incomplete: an empty plot and why)."""
        try:
            before, after = calibration["reliability_before"], calibration["reliability_after"]
            width = 0.4 / max(int(calibration.get("bins") or len(after)), 1)
            text = (f"Expected calibration error {calibration['ece_before']:.1%} before, "
                    f"{calibration['ece_after']:.1%} after temperature scaling (temperature "
                    f"{calibration['temperature']:.3g}; validation NLL {calibration['nll_before']:.4f} → "
                    f"{calibration['nll_after']:.4f}; {calibration.get('images', '?')} images, "
                    f"{calibration.get('checkpoint', 'best')} checkpoint).")
            x_before, h_before = bars(before, -width / 2)
            x_after, h_after = bars(after, width / 2)
        except (KeyError, TypeError, ValueError):  # no calibration, or a summary.json edited by hand
            self.clear()
            return
        self.before.setOpts(x=x_before, height=h_before, width=width)
        self.after.setOpts(x=x_after, height=h_after, width=width)
        self.numbers.setText(text)

    def clear(self) -> None:
        for item in (self.before, self.after):
            item.setOpts(x=[], height=[])
        self.numbers.setText(NO_CALIBRATION)

    @property
    def bar_heights(self) -> tuple[list[float], list[float]]:
        """The accuracies drawn (before, after), in bin order: what a test or a reader checks."""
        return ([float(h) for h in self.before.opts["height"]],
                [float(h) for h in self.after.opts["height"]])
