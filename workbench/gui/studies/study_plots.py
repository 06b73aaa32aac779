"""A cross-validation's curves: each fold's validation loss and accuracy per epoch, the mean over
folds with a ± one-standard-deviation band (FillBetweenItem), and the recommended epoch marked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QWidget

from workbench.gui.plots import RUN_COLOURS, curve_plot

BAND_BRUSH = pg.mkBrush(127, 127, 127, 120)  # grey shows on a light and a dark background
RECOMMENDED_PEN = pg.mkPen("#2ca02c", width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
METRICS = (("val_loss", "Validation loss per epoch", "Cross-validation loss plot", "loss"),
           ("val_acc", "Validation accuracy per epoch", "Cross-validation accuracy plot", "accuracy"))


class FoldCurves(QWidget):
    """Two plots; ``show_fold`` replaces one fold's curve, ``show_band`` the mean ± std."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plots = {key: curve_plot(title, name, y_label) for key, title, name, y_label in METRICS}
        self.plots["val_acc"].setYRange(0, 1)
        # Accuracy climbs to the top right: its legend goes to the bottom right, out of the way.
        self.plots["val_acc"].plotItem.legend.setOffset((-10, -10))
        self.fold_curves: dict[str, dict[int, pg.PlotDataItem]] = {key: {} for key in self.plots}
        self.mean_curves, self.bands, self._edges = {}, {}, {}
        mean_pen = pg.mkPen(pg.getConfigOption("foreground"), width=3)  # the text colour: dark or light
        for key, plot in self.plots.items():
            self.mean_curves[key] = plot.plot(pen=mean_pen, name="mean over folds")
            # The band's edges are invisible curves; FillBetweenItem shades between them.
            low, high = pg.PlotCurveItem(pen=None), pg.PlotCurveItem(pen=None)
            self._edges[key] = (low, high)
            self.bands[key] = pg.FillBetweenItem(low, high, brush=BAND_BRUSH)
            plot.addItem(self.bands[key])
            # The legend cannot draw a FillBetweenItem's sample: an empty curve with the same fill stands in.
            swatch = pg.PlotDataItem(pen=None, fillLevel=0, fillBrush=BAND_BRUSH)
            plot.plotItem.legend.addItem(swatch, "± 1 std over folds")
        self.markers: list[pg.InfiniteLine] = []
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for column, plot in enumerate(self.plots.values()):
            layout.addWidget(plot, 0, column)

    def reset(self) -> None:
        for key, plot in self.plots.items():
            for curve in self.fold_curves[key].values():
                plot.removeItem(curve)
            self.fold_curves[key] = {}
            self.mean_curves[key].setData([], [])
            for edge in self._edges[key]:
                edge.setData([], [])
        self.mark_recommended(None)

    def show_fold(self, fold: int, history: list[dict]) -> None:
        x = np.array([row["epoch"] for row in history], dtype=float)
        for key, plot in self.plots.items():
            curve = self.fold_curves[key].get(fold)
            if curve is None:
                colour = RUN_COLOURS[(fold - 1) % len(RUN_COLOURS)]
                curve = plot.plot(pen=pg.mkPen(colour, width=1.2), symbol="o", symbolSize=4,
                                  symbolBrush=colour, name=f"fold {fold}")
                self.fold_curves[key][fold] = curve
            curve.setData(x, np.array([row[key] for row in history], dtype=float))

    def show_band(self, epochs: list[dict]) -> None:
        """``epochs``: the per-epoch statistics (``cv_summary.json``'s ``epochs``)."""
        x = np.array([e["epoch"] for e in epochs], dtype=float)
        for key in self.plots:
            mean = np.array([e[f"{key}_mean"] for e in epochs], dtype=float)
            std = np.array([e[f"{key}_std"] for e in epochs], dtype=float)
            self.mean_curves[key].setData(x, mean)
            low, high = self._edges[key]
            low.setData(x, mean - std)
            high.setData(x, mean + std)

    def band_points(self) -> int:
        """How many epochs the band spans (for tests and accessibility)."""
        x, _ = self._edges["val_loss"][0].getData()
        return 0 if x is None else len(x)

    def mark_recommended(self, epoch: int | None) -> None:
        for line in self.markers:
            line.getViewBox() and line.getViewBox().removeItem(line)
        self.markers = []
        if epoch is None:
            return
        for plot in self.plots.values():
            line = pg.InfiniteLine(pos=epoch, angle=90, pen=RECOMMENDED_PEN, label=f"recommended {epoch}",
                                   labelOpts={"position": 0.5, "color": RECOMMENDED_PEN.color(),
                                              "movable": True})
            plot.addItem(line)
            self.markers.append(line)
