"""A search's plots: the optimisation history (each complete trial's value as a point, the best so
far as a line) and the settings' importances (a horizontal bar each, largest on top)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QWidget

from workbench.gui.plots import curve_plot

POINT_BRUSH = pg.mkBrush("#1f77b4")
BEST_PEN = pg.mkPen("#2ca02c", width=2)
BAR_BRUSH = pg.mkBrush("#ff7f0e")


class SearchPlots(QWidget):
    """``show_history(numbers, values, best)`` and ``show_importances({setting: share})``."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.history_plot = curve_plot("Optimisation history", "Optimisation history plot", "value", "trial")
        self.points = pg.ScatterPlotItem(size=8, brush=POINT_BRUSH, pen=None, name="trial")
        self.history_plot.addItem(self.points)
        self.best_line = self.history_plot.plot(pen=BEST_PEN, name="best so far")
        self.importance_plot = curve_plot("Setting importance", "Setting importance plot", "", "importance")
        self.importance_plot.plotItem.legend.hide()
        # Shares of 1: fractional ticks (curve_plot's bottom axis is for whole epochs and trials).
        self.importance_plot.setAxisItems({"bottom": pg.AxisItem("bottom")})
        self.importance_plot.setLabel("bottom", "importance")
        self.importance_plot.setXRange(0, 1.25)  # room for the labels beside the longest bar
        self.importance_plot.hideAxis("left")
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.6, width=[], brush=BAR_BRUSH)
        self.importance_plot.addItem(self.bars)
        self.bar_labels: list[pg.TextItem] = []
        self.importances: dict[str, float] = {}
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.history_plot, 0, 0)
        layout.addWidget(self.importance_plot, 0, 1)
        self.reset()

    def reset(self) -> None:
        self.show_history([], [], [])
        self.show_importances({})

    def set_monitor(self, monitor: str) -> None:
        self.history_plot.setLabel("left", monitor)

    def show_history(self, numbers: list[int], values: list[float], best: list[float]) -> None:
        self.points.setData(np.asarray(numbers, dtype=float), np.asarray(values, dtype=float))
        # The best so far holds until the next improvement: a step from each trial to the next.
        x = np.repeat(np.asarray(numbers, dtype=float), 2)[1:]
        y = np.repeat(np.asarray(best, dtype=float), 2)[:-1]
        self.best_line.setData(x, y)

    def show_importances(self, importances: dict[str, float]) -> None:
        self.importances = dict(importances)
        for label in self.bar_labels:
            self.importance_plot.removeItem(label)
        self.bar_labels = []
        order = sorted(importances.items(), key=lambda kv: kv[1])  # largest at the top
        y = np.arange(len(order), dtype=float)
        widths = np.array([v for _, v in order], dtype=float)
        self.bars.setOpts(x0=np.zeros(len(order)), y=y, width=widths, height=0.6)
        for row, (name, share) in zip(y, order, strict=True):
            label = pg.TextItem(f"{name}  {share:.0%}", color=pg.getConfigOption("foreground"),
                                anchor=(0, 0.5))
            label.setPos(share + 0.01, row)  # beside the bar's end, never on it
            self.importance_plot.addItem(label)
            self.bar_labels.append(label)
        self.importance_plot.setYRange(-0.6, max(len(order), 1) - 0.4)

    def point_count(self) -> int:
        """How many trials the history shows (for tests and accessibility)."""
        x, _ = self.points.getData()
        return 0 if x is None else len(x)
