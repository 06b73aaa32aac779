"""Live training curves: per-epoch loss and accuracy, per-iteration loss, learning rate."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QWidget

TRAIN_PEN = pg.mkPen("#1f77b4", width=2)
VAL_PEN = pg.mkPen("#ff7f0e", width=2)
RAW_PEN = pg.mkPen((31, 119, 180, 70), width=1)
SMOOTH_PEN = pg.mkPen("#1f77b4", width=2)
LR_PEN = pg.mkPen("#2ca02c", width=2)
BEST_PEN = pg.mkPen("#2ca02c", width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine)
STOP_PEN = pg.mkPen("#d62728", width=1.5, style=pg.QtCore.Qt.PenStyle.DotLine)


def _plot(title: str, accessible: str, y_label: str, x_label: str = "epoch") -> pg.PlotWidget:
    widget = pg.PlotWidget(title=title)
    widget.setAccessibleName(accessible)
    widget.setToolTip(title)
    widget.showGrid(x=True, y=True, alpha=0.2)
    for axis in ("left", "bottom"):
        # Grid lines at major ticks only: minor-tick grids make each redraw ~5× slower, which
        # would stall the event loop at every live update.
        widget.getAxis(axis).setStyle(maxTickLevel=0)
    widget.setLabel("left", y_label)
    widget.setLabel("bottom", x_label)
    widget.addLegend(offset=(-10, 10))
    widget.setMinimumHeight(160)
    return widget


class TrainingPlots(QWidget):
    """Four plots whose curves are replaced with setData as numbers arrive (never re-created)."""

    SMOOTHING = 0.9  # exponential moving average weight for the per-iteration loss

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = _plot("Loss per epoch", "Loss plot", "loss")
        self.acc_plot = _plot("Accuracy per epoch", "Accuracy plot", "accuracy")
        self.iter_plot = _plot("Training loss per iteration", "Iteration loss plot", "loss", "iteration")
        self.lr_plot = _plot("Learning rate", "Learning rate plot", "learning rate", "iteration")
        self.acc_plot.setYRange(0, 1)
        # A constant learning rate would otherwise auto-range to ±400 × 1e-3 around its value.
        self.lr_plot.getAxis("left").enableAutoSIPrefix(False)
        self.curves = {
            "train_loss": self.loss_plot.plot(pen=TRAIN_PEN, symbol="o", symbolSize=5, name="train"),
            "val_loss": self.loss_plot.plot(pen=VAL_PEN, symbol="o", symbolSize=5, name="validation"),
            "train_acc": self.acc_plot.plot(pen=TRAIN_PEN, symbol="o", symbolSize=5, name="train"),
            "val_acc": self.acc_plot.plot(pen=VAL_PEN, symbol="o", symbolSize=5, name="validation"),
            "iter_raw": self.iter_plot.plot(pen=RAW_PEN, name="raw"),
            "iter_smooth": self.iter_plot.plot(pen=SMOOTH_PEN, name="smoothed"),
            "lr": self.lr_plot.plot(pen=LR_PEN, name="learning rate"),
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
        layout.addWidget(self.iter_plot, 1, 0)
        layout.addWidget(self.lr_plot, 1, 1)
        self.reset()

    def reset(self) -> None:
        self.epochs: list[dict] = []
        self.iter_x: list[float] = []
        self.iter_loss: list[float] = []
        self.iter_smooth: list[float] = []
        self.iter_lr: list[float] = []
        self._lr_top = None
        for curve in self.curves.values():
            curve.setData([], [])
        for kind in self.markers:
            self._clear_markers(kind)

    def add_epoch(self, metrics: dict) -> None:
        self.epochs.append(metrics)
        x = np.array([m["epoch"] for m in self.epochs], dtype=float)
        for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
            self.curves[key].setData(x, np.array([m[key] for m in self.epochs], dtype=float))

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
