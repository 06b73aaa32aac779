"""Training curves: live per-epoch loss and accuracy, per-iteration loss, learning rate; past runs
shown again from their metrics, and several runs overlaid to compare them."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QWidget

TRAIN_PEN = pg.mkPen("#1f77b4", width=2)
VAL_PEN = pg.mkPen("#ff7f0e", width=2)
RAW_PEN = pg.mkPen((31, 119, 180, 70), width=1)
SMOOTH_PEN = pg.mkPen("#1f77b4", width=2)
LR_PEN = pg.mkPen("#2ca02c", width=2)
FIRST_GROUP_PEN = pg.mkPen("#9467bd", width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
BEST_PEN = pg.mkPen("#2ca02c", width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine)
STOP_PEN = pg.mkPen("#d62728", width=1.5, style=pg.QtCore.Qt.PenStyle.DotLine)


class WholeNumberAxis(pg.AxisItem):
    """An axis of epochs or iterations: ticks at whole numbers only (a 2-epoch run gets 1 and 2,
    not 1.2, 1.4 …), labelled without decimals."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 — pyqtgraph override
        levels = [(spacing, [v for v in values if float(v).is_integer()])
                  for spacing, values in super().tickValues(minVal, maxVal, size) if spacing >= 1]
        levels = [(spacing, values) for spacing, values in levels if values]
        if not levels and math.isfinite(minVal) and math.isfinite(maxVal):
            whole = list(range(math.ceil(minVal), math.floor(maxVal) + 1))
            levels = [(1.0, [float(v) for v in whole])] if whole else []
        return levels

    def tickStrings(self, values, scale, spacing):  # noqa: N802 — pyqtgraph override
        return [f"{round(v * scale):,}" for v in values]


def curve_plot(title: str, accessible: str, y_label: str, x_label: str = "epoch",
               fraction: bool = False) -> pg.PlotWidget:
    """A plot with the window's look: grid, axis labels, whole-number x ticks, a legend under the
    plot (never over the curves), and ranges that follow the data with some room around it.
    ``fraction``: values in 0–1 (accuracy), whose range never pads past them."""
    widget = pg.PlotWidget(title=title, axisItems={"bottom": WholeNumberAxis("bottom")})
    widget.setAccessibleName(accessible)
    widget.setToolTip(title)
    widget.showGrid(x=True, y=True, alpha=0.2)
    for axis in ("left", "bottom"):
        # Grid lines at major ticks only: minor-tick grids make each redraw ~5× slower, which
        # would stall the event loop at every live update.
        widget.getAxis(axis).setStyle(maxTickLevel=0)
    # Plain numbers: an SI prefix turned a loss of 0.4-0.8 into "loss (x0.001)" with ticks at 400, 800.
    widget.getAxis("left").enableAutoSIPrefix(False)
    widget.setLabel("left", y_label)
    widget.setLabel("bottom", x_label)
    plot = widget.getPlotItem()
    plot.getViewBox().setDefaultPadding(0.08)
    if fraction:
        plot.getViewBox().setLimits(yMin=-0.02, yMax=1.02)
    legend = pg.LegendItem(colCount=3)
    plot.layout.addItem(legend, 4, 1)  # the row under the x axis: outside the data
    plot.legend = legend  # plot(name=…) adds curves to it
    widget.setMinimumHeight(160)
    return widget


class TrainingPlots(QWidget):
    """Four plots whose curves are replaced with setData as numbers arrive (never re-created)."""

    SMOOTHING = 0.9  # exponential moving average weight for the per-iteration loss

    def __init__(self, parent=None, *, epoch_only: bool = False):
        super().__init__(parent)
        self.loss_plot = curve_plot("Loss per epoch", "Loss plot", "loss")
        self.acc_plot = curve_plot("Accuracy per epoch", "Accuracy plot", "accuracy", fraction=True)
        self.iter_plot = curve_plot("Training loss per iteration", "Iteration loss plot", "loss", "iteration")
        self.lr_plot = curve_plot("Learning rate", "Learning rate plot", "learning rate", "iteration")
        self.curves = {
            "train_loss": self.loss_plot.plot(pen=TRAIN_PEN, symbol="o", symbolSize=5, name="train"),
            "val_loss": self.loss_plot.plot(pen=VAL_PEN, symbol="o", symbolSize=5, name="validation"),
            "train_acc": self.acc_plot.plot(pen=TRAIN_PEN, symbol="o", symbolSize=5, name="train"),
            "val_acc": self.acc_plot.plot(pen=VAL_PEN, symbol="o", symbolSize=5, name="validation"),
            "iter_raw": self.iter_plot.plot(pen=RAW_PEN, name="raw"),
            "iter_smooth": self.iter_plot.plot(pen=SMOOTH_PEN, name="smoothed"),
            "lr": self.lr_plot.plot(pen=LR_PEN, name="learning rate"),
            # Only with layer-wise rates (EpochEnd.lr_first_group): one point per epoch.
            "lr_first_group": self.lr_plot.plot(pen=FIRST_GROUP_PEN, symbol="o", symbolSize=4,
                                                symbolBrush=FIRST_GROUP_PEN.color()),
        }
        for key in ("iter_raw", "iter_smooth", "lr"):
            # Long runs reach 10⁵ iterations: draw only what is visible, at screen resolution.
            self.curves[key].setDownsampling(auto=True, method="peak")
            self.curves[key].setClipToView(True)
        self.markers: dict[str, list[pg.InfiniteLine]] = {"best": [], "stop": []}
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 0, 0)
        layout.addWidget(self.acc_plot, 0, 1)
        if epoch_only:  # a past run: metrics.csv keeps epochs, not iterations
            self.iter_plot.hide()
            self.lr_plot.hide()
        else:
            layout.addWidget(self.iter_plot, 1, 0)
            layout.addWidget(self.lr_plot, 1, 1)
        self.reset()

    def reset(self) -> None:
        self.epochs: list[dict] = []
        self.iter_x: list[float] = []
        self.iter_loss: list[float] = []
        self.iter_smooth: list[float] = []
        self.iter_lr: list[float] = []
        self.first_group_lr: list[tuple[float, float]] = []
        self._lr_top = None
        self._name_lr_curves(layer_wise=False)
        for curve in self.curves.values():
            curve.setData([], [])
        for kind in self.markers:
            self._clear_markers(kind)

    def add_epoch(self, metrics: dict) -> None:
        self.epochs.append(metrics)
        for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
            rows = [m for m in self.epochs if m.get(key) is not None]  # no validation split: none
            self.curves[key].setData(np.array([m["epoch"] for m in rows], dtype=float),
                                     np.array([m[key] for m in rows], dtype=float))

    def show_history(self, history: list[dict], best_epoch: int | None = None,
                     stopped_early_at: int | None = None) -> None:
        """Replace everything with a finished run's epochs (rows of its metrics.csv) and markers."""
        self.reset()
        for metrics in history:
            self.add_epoch(metrics)
        if best_epoch:
            self.mark_best(best_epoch)
        if stopped_early_at:
            self.mark_stop(stopped_early_at)

    def add_batches(self, batches: list[tuple[float, float, float]]) -> None:
        """``(global iteration, loss, lr)`` triples since the last call; one redraw for all."""
        if not batches:
            return
        for x, loss, lr in batches:
            previous = self.iter_smooth[-1] if self.iter_smooth else loss
            self.iter_x.append(x)
            self.iter_loss.append(loss)
            self.iter_smooth.append(self.SMOOTHING * previous + (1 - self.SMOOTHING) * loss)
            self.iter_lr.append(lr)
        x = np.asarray(self.iter_x)
        self.curves["iter_raw"].setData(x, np.asarray(self.iter_loss))
        self.curves["iter_smooth"].setData(x, np.asarray(self.iter_smooth))
        self.curves["lr"].setData(x, np.asarray(self.iter_lr))
        top = max(self.iter_lr) * 1.1
        if top != self._lr_top:
            self._lr_top = top
            self.lr_plot.setYRange(0, top, padding=0)

    def add_first_group_lr(self, iteration: float, lr: float) -> None:
        """The first layer group's rate at the end of an epoch (the plotted rate is the head's)."""
        if not self.first_group_lr:
            self._name_lr_curves(layer_wise=True)
        self.first_group_lr.append((iteration, lr))
        x, y = zip(*self.first_group_lr, strict=True)
        self.curves["lr_first_group"].setData(np.asarray(x), np.asarray(y))

    def _name_lr_curves(self, layer_wise: bool) -> None:
        legend = self.lr_plot.plotItem.legend
        legend.removeItem(self.curves["lr"])
        legend.removeItem(self.curves["lr_first_group"])
        if layer_wise:
            legend.addItem(self.curves["lr"], "head")
            legend.addItem(self.curves["lr_first_group"], "first layer group")
        else:
            legend.addItem(self.curves["lr"], "learning rate")

    def mark_best(self, epoch: int) -> None:
        self._clear_markers("best")
        self._add_marker("best", epoch, BEST_PEN, f"best {epoch}")

    def mark_stop(self, epoch: int) -> None:
        self._clear_markers("stop")
        self._add_marker("stop", epoch, STOP_PEN, f"stopped {epoch}")

    def _add_marker(self, kind: str, epoch: int, pen, label: str) -> None:
        for plot in (self.loss_plot, self.acc_plot):
            line = pg.InfiniteLine(pos=epoch, angle=90, pen=pen, label=label,
                                   labelOpts={"position": 0.5, "color": pen.color(),
                                                                "movable": True})
            plot.addItem(line)
            self.markers[kind].append(line)

    def _clear_markers(self, kind: str) -> None:
        for line in self.markers[kind]:
            line.getViewBox() and line.getViewBox().removeItem(line)
        self.markers[kind] = []

    def point_count(self, key: str) -> int:
        """How many points a curve shows (for tests and accessibility)."""
        x, _ = self.curves[key].getData()
        return 0 if x is None else len(x)


# Distinct line colours for compared runs (matplotlib's tab10, readable on light and dark bases).
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf")
COMPARED_METRICS = (("val_loss", "Validation loss", "loss"), ("val_acc", "Validation accuracy", "accuracy"))


class RunComparisonPlots(QWidget):
    """Validation loss and accuracy of several runs overlaid, one coloured line per run."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plots = {key: curve_plot(f"{title} per epoch", f"{title} of the compared runs", y_label,
                                      fraction=key == "val_acc")
                      for key, title, y_label in COMPARED_METRICS}
        self.curves: dict[str, dict[str, pg.PlotDataItem]] = {key: {} for key in self.plots}
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for column, plot in enumerate(self.plots.values()):
            layout.addWidget(plot, 0, column)

    def show_runs(self, runs: list[tuple[str, list[dict]]]) -> None:
        """Draw ``(run name, metrics rows)`` pairs, replacing the runs shown before."""
        for key, plot in self.plots.items():
            for curve in self.curves[key].values():
                plot.removeItem(curve)
            self.curves[key] = {}
            for i, (name, history) in enumerate(runs):
                rows = [row for row in history if key in row]
                pen = pg.mkPen(RUN_COLOURS[i % len(RUN_COLOURS)], width=2)
                self.curves[key][name] = plot.plot(
                    np.array([row["epoch"] for row in rows], dtype=float),
                    np.array([row[key] for row in rows], dtype=float),
                    pen=pen, symbol="o", symbolSize=5, symbolBrush=pen.color(), name=name)
