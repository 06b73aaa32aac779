"""Progress of the current run: epoch and iteration bars, speed, time, device and GPU memory.

A view of a :class:`~workbench.session.TrainingSession`: it connects to the session's signals and
reads its numbers (elapsed time, ETA); batches are drawn by :meth:`ProgressPanel.show_latest`,
which the Training tab calls at its redraw rate rather than once per batch.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QProgressBar, QWidget

from workbench.engine import events as ev
from workbench.session import TrainingSession, format_duration


def _bar(name: str, tip: str) -> QProgressBar:
    bar = QProgressBar()
    bar.setAccessibleName(name)
    bar.setToolTip(tip)
    bar.setTextVisible(True)
    return bar


class ProgressPanel(QWidget):
    def __init__(self, session: TrainingSession, parent=None):
        super().__init__(parent)
        self.session = session
        self.epoch_bar = _bar("Epoch progress", "Epochs finished out of the planned number")
        self.iteration_bar = _bar("Iteration progress", "Iterations (batches) done in this epoch")
        self.speed = QLabel("–")
        self.elapsed = QLabel("–")
        self.eta = QLabel("–")
        self.device = QLabel("–")
        self.gpu_memory = QLabel("–")
        for label, name in ((self.speed, "Images per second"), (self.elapsed, "Elapsed time"),
                            (self.eta, "Time remaining"), (self.device, "Device"),
                            (self.gpu_memory, "GPU memory")):
            label.setAccessibleName(name)
        form = QFormLayout(self)
        form.addRow("Epoch", self.epoch_bar)
        form.addRow("Iteration", self.iteration_bar)
        form.addRow("Speed", self.speed)
        form.addRow("Elapsed / ETA", self._pair())
        form.addRow("Device", self.device)
        form.addRow("GPU memory", self.gpu_memory)
        self.reset()
        signals = session.signals
        signals.reset.connect(self.reset)
        signals.started.connect(self.run_started)
        signals.cache_progress.connect(self.cache_progress)
        signals.epoch.connect(self.epoch_done)
        signals.finished.connect(lambda _summary: self.run_ended())
        signals.failed.connect(lambda _error: self.run_ended())

    def _pair(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.elapsed)
        row.addWidget(QLabel("/"))
        row.addWidget(self.eta)
        row.addStretch(1)
        return box

    def reset(self) -> None:
        self.epoch_bar.setRange(0, 1)
        self.epoch_bar.setValue(0)
        self.epoch_bar.setFormat("–")
        self.iteration_bar.setRange(0, 1)
        self.iteration_bar.setValue(0)
        self.iteration_bar.setFormat("–")
        for label in (self.speed, self.elapsed, self.eta, self.gpu_memory):
            label.setText("–")

    def run_started(self, e: ev.RunStart) -> None:
        self.epoch_bar.setRange(0, e.epochs)
        self.epoch_bar.setValue(e.start_epoch - 1)
        self.epoch_bar.setFormat(f"epoch {e.start_epoch - 1}/{e.epochs}")
        self.iteration_bar.setRange(0, max(e.iterations_per_epoch, 1))
        self.device.setText(e.device_name)
        self.gpu_memory.setText("–" if e.device != "cuda" else "0 MB")

    def show_latest(self) -> None:
        """Draw the session's latest batch, elapsed time and ETA."""
        b = self.session.last_batch
        if b is None:
            return
        self.iteration_bar.setValue(b.iteration)
        self.iteration_bar.setFormat(f"iteration {b.iteration}/{b.iterations}")
        self.speed.setText(f"{b.images_per_sec:.0f} images/s")
        self.elapsed.setText(format_duration(self.session.elapsed()))
        self.eta.setText(format_duration(self.session.eta()))
        if b.gpu_memory_mb is not None:
            self.gpu_memory.setText(f"{b.gpu_memory_mb:.0f} MB")

    def epoch_done(self, e: ev.EpochEnd) -> None:
        self.epoch_bar.setValue(e.epoch)
        self.epoch_bar.setFormat(f"epoch {e.epoch}/{e.epochs}")

    def cache_progress(self, e: ev.CacheProgress) -> None:
        self.iteration_bar.setRange(0, max(e.total, 1))
        self.iteration_bar.setValue(e.done)
        self.iteration_bar.setFormat(f"decoding images {e.done}/{e.total}")

    def run_ended(self) -> None:
        """However it ended: the final elapsed time, and no time remaining."""
        self.elapsed.setText(format_duration(self.session.elapsed()))
        self.eta.setText("–")
