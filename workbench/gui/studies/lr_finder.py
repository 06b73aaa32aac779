"""The learning-rate finder's dialog: the sweep's loss against the rate (log axis), the suggested
rate marked with its rule, the other rules' rates, and **Use this learning rate**.

It only draws what its :class:`~workbench.study_session.SweepSession` holds; the window runs the
sweep (through the one run interface) and feeds the session.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from workbench.gui.common import action_button
from workbench.study_session import SweepSession

RAW_PEN = pg.mkPen((31, 119, 180, 90), width=1)
SMOOTH_PEN = pg.mkPen("#1f77b4", width=2)
SUGGESTED_PEN = pg.mkPen("#2ca02c", width=2)
OTHER_PEN = pg.mkPen("#7f7f7f", width=1.5, style=Qt.PenStyle.DashLine)
REFUSAL_STYLE = "color: #d62728;"

EXPLANATION = ("The learning rate grows step by step from 1e-7 to 10 over 100 batches (over several "
               "epochs of a small set) while each batch's loss is recorded; the sweep stops once the "
               "loss blows up. A good rate lies on the long descent of the smoothed loss, well before "
               "its minimum. "
               "The sweep trains a throw-away copy of the model: your next run starts afresh.")


class LRFinderDialog(QDialog):
    """Non-modal; ``lrChosen(lr)`` fires on **Use this learning rate**, ``stopRequested`` when the
    dialog is closed while the sweep runs."""

    lrChosen = Signal(float)
    stopRequested = Signal()

    def __init__(self, session: SweepSession, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Find a learning rate")
        self.setAccessibleName("Learning-rate finder")
        self.session = session
        self.sweeping = True
        self.plot = pg.PlotWidget(title="Loss during the learning-rate sweep")
        self.plot.setAccessibleName("Learning-rate sweep plot")
        self.plot.setToolTip("Training loss of each batch against the learning rate it was trained at")
        self.plot.setLogMode(x=True, y=False)
        # Plain rates: an SI prefix turned the axis into "(x0.001)" with ticks at 0.0001 … 10².
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "learning rate (log scale)")
        self.plot.setLabel("left", "training loss")
        self.plot.addLegend(offset=(-10, 10))
        self.plot.setMinimumSize(560, 320)
        self.raw_curve = self.plot.plot(pen=RAW_PEN, name="loss per batch")
        self.smooth_curve = self.plot.plot(pen=SMOOTH_PEN, name="smoothed")
        self.markers: list[pg.InfiniteLine] = []

        explanation = QLabel(EXPLANATION)
        explanation.setWordWrap(True)
        self.result_label = QLabel("Sweeping…")
        self.result_label.setWordWrap(True)
        self.result_label.setAccessibleName("Learning-rate suggestion")
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.result_label.font()
        font.setBold(True)
        self.result_label.setFont(font)
        self.use_button = action_button("Use this learning rate", "Use this learning rate",
                                        "Put the suggested rate into the Learning rate setting",
                                        self._use)
        self.use_button.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.use_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.result_label)
        layout.addWidget(buttons)
        self.resize(720, 540)

        self._slots = ((session.point, self._on_point), (session.finished, self.show_result),
                       (session.failed, self._on_failed))
        for signal, slot in self._slots:
            signal.connect(slot)

    @property
    def suggested_lr(self) -> float | None:
        result = self.session.result
        return result.suggested_lr if result is not None else None

    def _on_point(self, _lr: float, _loss: float) -> None:
        self.raw_curve.setData(np.asarray(self.session.lrs), np.asarray(self.session.losses))
        self.result_label.setText(f"Sweeping… {len(self.session.lrs)} batches, rate now {_lr:.2g}")

    def show_result(self, result) -> None:
        self.sweeping = False
        self.raw_curve.setData(np.asarray(result.lrs), np.asarray(result.raw_losses))
        self.smooth_curve.setData(np.asarray(result.lrs), np.asarray(result.losses))
        self._clear_markers()
        finite = [loss for loss in result.losses if math.isfinite(loss)]
        if finite:  # the diverged tail would squash the part worth reading
            low, high = min(finite), min(max(finite), 3 * finite[0])
            self.plot.setYRange(low - 0.05 * (high - low), high, padding=0.02)
        if result.suggested_lr is None:
            self.show_refusal(result.describe())
            return
        # Labels at different heights: two rules' rates can be close enough for them to overlap.
        for (rule, lr), position in zip(result.alternatives.items(), (0.85, 0.75, 0.65), strict=False):
            self._mark(lr, f"{rule} {lr:.2g}", OTHER_PEN, position)
        self._mark(result.suggested_lr, f"suggested {result.suggested_lr:.2g} ({result.rule})",
                   SUGGESTED_PEN, 0.95)
        others = ", ".join(f"{rule} {lr:.2g}" for rule, lr in result.alternatives.items())
        self.result_label.setStyleSheet("")
        self.result_label.setText(
            f"Suggested learning rate: {result.suggested_lr:.2g}, by the valley rule (two thirds of the "
            f"way down the longest descent of the smoothed loss). Other rules: {others}. "
            f"{result.stop_reason.capitalize()}.")
        self.use_button.setEnabled(True)

    def _on_failed(self, error) -> None:
        self.show_refusal(error.message)

    def show_refusal(self, message: str) -> None:
        """No suggestion: the sweep was refused or its curve has no descent to read."""
        self.sweeping = False
        self.result_label.setStyleSheet(REFUSAL_STYLE)
        self.result_label.setText(message)
        self.use_button.setEnabled(False)

    def _mark(self, lr: float, label: str, pen, position: float) -> None:
        # Items other than curves are not transformed by the log axis: place them at log10(rate).
        line = pg.InfiniteLine(pos=math.log10(lr), angle=90, pen=pen, label=label,
                               labelOpts={"position": position, "color": pen.color(), "movable": True})
        self.plot.addItem(line)
        self.markers.append(line)

    def _clear_markers(self) -> None:
        for line in self.markers:
            self.plot.removeItem(line)
        self.markers = []

    def _use(self) -> None:
        if self.suggested_lr is not None:
            self.lrChosen.emit(self.suggested_lr)

    def closeEvent(self, event) -> None:  # noqa: N802 — Qt override
        if self.sweeping:
            self.stopRequested.emit()
        # The session outlives this dialog (deleted on close): a late point must not reach it.
        for signal, slot in self._slots:
            signal.disconnect(slot)
        self._slots = ()
        super().closeEvent(event)
