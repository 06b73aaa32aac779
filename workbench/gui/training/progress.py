"""Progress of the current run: epoch and iteration bars, speed, time, device and GPU memory."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QFormLayout, QLabel, QProgressBar, QWidget

from workbench.gui.settings_form import format_eta


def _bar(name: str, tip: str) -> QProgressBar:
    bar = QProgressBar()
    bar.setAccessibleName(name)
    bar.setToolTip(tip)
    bar.setTextVisible(True)
    return bar


class ProgressPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
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

    def _pair(self) -> QWidget:
        from PySide6.QtWidgets import QHBoxLayout

        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.elapsed)
        row.addWidget(QLabel("/"))
        row.addWidget(self.eta)
        row.addStretch(1)
        return box

    def reset(self) -> None:
        self.epochs = self.iterations = 0
        self.start_epoch = 1
        self.started = time.perf_counter()
        self.epoch_bar.setRange(0, 1)
        self.epoch_bar.setValue(0)
        self.epoch_bar.setFormat("–")
        self.iteration_bar.setRange(0, 1)
        self.iteration_bar.setValue(0)
        self.iteration_bar.setFormat("–")
        for label in (self.speed, self.elapsed, self.eta, self.gpu_memory):
            label.setText("–")

    def run_started(self, data: dict) -> None:
        self.epochs, self.iterations = data["epochs"], data["iterations_per_epoch"]
        self.start_epoch = data["start_epoch"]
        self.started = time.perf_counter()
        self.epoch_bar.setRange(0, self.epochs)
        self.epoch_bar.setValue(self.start_epoch - 1)
        self.epoch_bar.setFormat(f"epoch {self.start_epoch - 1}/{self.epochs}")
        self.iteration_bar.setRange(0, max(self.iterations, 1))
        self.device.setText(data["device_name"])
        self.gpu_memory.setText("–" if data["device"] != "cuda" else "0 MB")

    def batch(self, data: dict) -> None:
        self.iteration_bar.setValue(data["iteration"])
        self.iteration_bar.setFormat(f"iteration {data['iteration']}/{data['iterations']}")
        self.speed.setText(f"{data['images_per_sec']:.0f} images/s")
        done = (data["epoch"] - self.start_epoch) * self.iterations + data["iteration"]
        left = (self.epochs - data["epoch"]) * self.iterations + self.iterations - data["iteration"]
        elapsed = time.perf_counter() - self.started
        self.elapsed.setText(format_eta(elapsed))
        self.eta.setText(format_eta(elapsed / max(done, 1) * left))
        if data.get("gpu_memory_mb") is not None:
            self.gpu_memory.setText(f"{data['gpu_memory_mb']:.0f} MB")

    def epoch_done(self, data: dict) -> None:
        self.epoch_bar.setValue(data["epoch"])
        self.epoch_bar.setFormat(f"epoch {data['epoch']}/{self.epochs}")

    def cache_progress(self, done: int, total: int) -> None:
        self.iteration_bar.setRange(0, max(total, 1))
        self.iteration_bar.setValue(done)
        self.iteration_bar.setFormat(f"decoding images {done}/{total}")
