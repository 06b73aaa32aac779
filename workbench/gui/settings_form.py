"""The settings form: every TrainConfig field a user sets, with live derived figures and problems."""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.config import MONITORS, OPTIMIZERS, SCHEDULES, AugmentConfig, TrainConfig, iterations_per_epoch
from workbench.models import MODELS

TIPS = {
    "epochs": "An epoch is one full pass over every training image.",
    "batch_size": "The batch size is how many images the model sees before each weight update.",
    "iteration": "An iteration is one weight update, made from one batch of images.",
    "patience": "Patience is how many epochs without improvement are tolerated before training stops early.",
    "min_delta": "The smallest change of the monitored metric that counts as an improvement.",
    "monitor": "The validation figure early stopping and the best checkpoint are judged by.",
    "lr": "The learning rate scales every weight update; too high diverges, too low crawls.",
    "model": "The network architecture; larger ones learn more but train slower.",
    "image_size": "Images are resized to this square size (in pixels) before training.",
    "val_fraction": "Share of each class held out to measure accuracy on unseen images.",
    "seed": "Fixes the random split, shuffling and augmentation so a run can be repeated.",
    "device": "Where to train: auto picks a CUDA GPU, then Apple MPS, then the CPU.",
    "mixed_precision": "On a CUDA GPU, compute in 16-bit where safe: faster, less memory.",
    "pretrained": "Start from ImageNet weights (downloaded once) instead of random weights.",
    "freeze_backbone_epochs": "Train only the new classifier head for this many epochs, then everything.",
    "optimizer": "The rule that turns gradients into weight updates.",
    "schedule": "How the learning rate changes during training.",
    "weight_decay": "Pulls weights towards zero to reduce overfitting.",
    "label_smoothing": "Softens the targets a little so the model is less over-confident.",
    "early_stopping": "Stop when the monitored metric stops improving for 'patience' epochs.",
    "gpus": "Train on this many GPUs at once (one process each, torch DDP): each GPU takes its own "
            "batch, so the effective batch is batch size × GPUs.",
}


def _spin(low: int, high: int, tip: str, name: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setToolTip(tip)
    box.setAccessibleName(name)
    box.setKeyboardTracking(True)
    return box


def _dspin(low: float, high: float, decimals: int, step: float, tip: str, name: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setToolTip(tip)
    box.setAccessibleName(name)
    return box


def _combo(items, tip: str, name: str) -> QComboBox:
    box = QComboBox()
    for item in items:
        box.addItem(item, item)
    box.setToolTip(tip)
    box.setAccessibleName(name)
    return box


def _check(text: str, tip: str, name: str | None = None) -> QCheckBox:
    box = QCheckBox(text)
    box.setToolTip(tip)
    box.setAccessibleName(name or text)
    return box


class SettingsForm(QWidget):
    """Edits a TrainConfig. ``changed`` fires on every edit; ``problems()`` lists what blocks Start."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.n_train: int | None = None
        self.param_counts: dict[str, int] = {}
        self._extra = TrainConfig()  # fields the form does not show keep their values here

        self.model = _combo(list(MODELS), TIPS["model"], "Model")
        self.params_label = QLabel("")
        self.pretrained = _check("Pretrained (ImageNet)", TIPS["pretrained"], "Pretrained weights")
        self.weights_path = QLineEdit()
        self.weights_path.setPlaceholderText("optional local .safetensors / .pt file")
        self.weights_path.setAccessibleName("Weights file")
        self.weights_path.setToolTip("Start from a local weights file instead of downloading.")
        browse = QPushButton("…")
        browse.setAccessibleName("Choose weights file")
        browse.setToolTip("Choose a local weights file")
        browse.clicked.connect(self._choose_weights)
        self.freeze = _spin(0, 10_000, TIPS["freeze_backbone_epochs"], "Freeze backbone epochs")

        self.epochs = _spin(1, 100_000, TIPS["epochs"], "Epochs")
        self.batch_size = _spin(1, 65_536, TIPS["batch_size"], "Batch size")
        self.early_stopping = _check("Early stopping", TIPS["early_stopping"])
        self.patience = _spin(0, 100_000, TIPS["patience"], "Patience")
        self.min_delta = _dspin(0, 1e6, 4, 0.001, TIPS["min_delta"], "Min delta")
        self.monitor = _combo(MONITORS, TIPS["monitor"], "Monitored metric")
        self.lr = _dspin(1e-6, 10, 6, 1e-4, TIPS["lr"], "Learning rate")
        self.optimizer = _combo(OPTIMIZERS, TIPS["optimizer"], "Optimizer")
        self.schedule = _combo(SCHEDULES, TIPS["schedule"], "Schedule")
        self.weight_decay = _dspin(0, 1, 5, 1e-4, TIPS["weight_decay"], "Weight decay")
        self.label_smoothing = _dspin(0, 0.99, 2, 0.05, TIPS["label_smoothing"], "Label smoothing")
        self.image_size = _spin(16, 1024, TIPS["image_size"], "Image size")
        self.val_fraction = _dspin(0.01, 0.99, 2, 0.05, TIPS["val_fraction"], "Validation fraction")
        self.seed = _spin(0, 2**31 - 1, TIPS["seed"], "Seed")
        self.device = _combo(("auto", "cpu", "cuda", "mps"), TIPS["device"], "Device")
        self.mixed_precision = _check("Mixed precision (CUDA)", TIPS["mixed_precision"], "Mixed precision")
        # The number of processes is how a run is launched (torchrun), not a TrainConfig field.
        self.gpu_count = _cuda_device_count()
        self.gpus = _spin(1, max(self.gpu_count, 1), TIPS["gpus"], "GPUs")
        self.gpus.setValue(max(self.gpu_count, 1))

        self.aug_enabled = _check("Augment training images", "Random changes to each training image "
                                  "every epoch, so the model generalises.", "Augmentation")
        self.aug_hflip = _check("Horizontal flip", "Mirror images left-right at random.")
        self.aug_vflip = _check("Vertical flip", "Flip images upside down at random.")
        self.aug_rotation = _dspin(0, 180, 0, 5, "Rotate by a random angle up to this many degrees.",
                                   "Rotation range")
        self.aug_shift = _dspin(0, 0.5, 2, 0.05, "Shift by up to this fraction of the width and height.",
                                "Shift range")
        self.aug_shear = _dspin(0, 45, 0, 5, "Shear by up to this many degrees.", "Shear range")
        self.aug_zoom = _dspin(0, 0.9, 2, 0.05, "Zoom in or out by up to this fraction.", "Zoom range")
        self.aug_crop = _check("Random resized crop", "Crop a random part of the image and resize it back.")
        self.aug_colour = _dspin(0, 0.9, 2, 0.05, "Vary brightness, contrast and saturation by up to "
                                 "this fraction.", "Colour jitter")
        self.aug_fill = _combo(("nearest", "reflect", "constant", "wrap"), "How to fill pixels moved in "
                               "from outside the image (Keras fill_mode).", "Fill mode")

        self.derived = QLabel()
        self.derived.setWordWrap(True)
        self.derived.setAccessibleName("Iterations per epoch")
        self.derived.setToolTip(TIPS["iteration"])
        self.problems_label = QLabel()
        self.problems_label.setWordWrap(True)
        self.problems_label.setAccessibleName("Settings problems")
        self.problems_label.setStyleSheet("color: #d62728;")
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        self.notes_label.setAccessibleName("Settings notes")

        model_box = QGroupBox("Model")
        form = QFormLayout(model_box)
        form.addRow("Architecture", self.model)
        form.addRow("", self.params_label)
        form.addRow("", self.pretrained)
        row = QHBoxLayout()
        row.addWidget(self.weights_path)
        row.addWidget(browse)
        form.addRow("Weights file", row)
        form.addRow("Freeze backbone epochs", self.freeze)

        train_box = QGroupBox("Training")
        form = QFormLayout(train_box)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow(self.derived)
        form.addRow("", self.early_stopping)
        form.addRow("Patience", self.patience)
        form.addRow("Min delta", self.min_delta)
        form.addRow("Monitor", self.monitor)
        form.addRow("Learning rate", self.lr)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Schedule", self.schedule)
        form.addRow("Weight decay", self.weight_decay)
        form.addRow("Label smoothing", self.label_smoothing)
        form.addRow("Image size", self.image_size)
        form.addRow("Validation fraction", self.val_fraction)
        form.addRow("Seed", self.seed)
        form.addRow("Device", self.device)
        form.addRow("GPUs", self.gpus)
        form.setRowVisible(self.gpus, self.gpu_count > 1)
        form.addRow("", self.mixed_precision)

        aug_box = QGroupBox("Augmentation")
        form = QFormLayout(aug_box)
        form.addRow("", self.aug_enabled)
        form.addRow("", self.aug_hflip)
        form.addRow("", self.aug_vflip)
        form.addRow("Rotation (°)", self.aug_rotation)
        form.addRow("Shift", self.aug_shift)
        form.addRow("Shear (°)", self.aug_shear)
        form.addRow("Zoom", self.aug_zoom)
        form.addRow("", self.aug_crop)
        form.addRow("Colour jitter", self.aug_colour)
        form.addRow("Fill mode", self.aug_fill)

        layout = QVBoxLayout(self)
        layout.addWidget(model_box)
        layout.addWidget(train_box)
        layout.addWidget(aug_box)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.problems_label)
        layout.addStretch(1)

        self.set_config(TrainConfig())
        for widget in self._inputs():
            signal = (widget.toggled if isinstance(widget, QCheckBox) else
                      widget.currentIndexChanged if isinstance(widget, QComboBox) else
                      widget.textChanged if isinstance(widget, QLineEdit) else widget.valueChanged)
            signal.connect(self._on_edit)

    def _inputs(self):
        return [self.model, self.pretrained, self.weights_path, self.freeze, self.epochs, self.batch_size,
                self.early_stopping, self.patience, self.min_delta, self.monitor, self.lr, self.optimizer,
                self.schedule, self.weight_decay, self.label_smoothing, self.image_size, self.val_fraction,
                self.seed, self.device, self.mixed_precision, self.aug_enabled, self.aug_hflip,
                self.aug_vflip, self.aug_rotation, self.aug_shift, self.aug_shear, self.aug_zoom,
                self.aug_crop, self.aug_colour, self.aug_fill, self.gpus]

    # Config <-> widgets ----------------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        self._extra = TrainConfig.from_dict(config.to_dict())
        blockers = [w.blockSignals(True) for w in self._inputs()]
        try:
            _set_combo(self.model, config.model)
            self.pretrained.setChecked(config.pretrained)
            self.weights_path.setText(config.weights_path or "")
            self.freeze.setValue(config.freeze_backbone_epochs)
            self.epochs.setValue(config.epochs)
            self.batch_size.setValue(config.batch_size)
            self.early_stopping.setChecked(config.early_stopping)
            self.patience.setValue(config.patience)
            self.min_delta.setValue(config.min_delta)
            _set_combo(self.monitor, config.monitor)
            self.lr.setValue(config.lr)
            _set_combo(self.optimizer, config.optimizer)
            _set_combo(self.schedule, config.schedule)
            self.weight_decay.setValue(config.weight_decay)
            self.label_smoothing.setValue(config.label_smoothing)
            self.image_size.setValue(config.image_size)
            self.val_fraction.setValue(config.val_fraction)
            self.seed.setValue(config.seed)
            _set_combo(self.device, config.device)
            self.mixed_precision.setChecked(config.mixed_precision)
            a = config.augment
            self.aug_enabled.setChecked(a.enabled)
            self.aug_hflip.setChecked(a.horizontal_flip)
            self.aug_vflip.setChecked(a.vertical_flip)
            self.aug_rotation.setValue(a.rotation_range)
            self.aug_shift.setValue(max(a.width_shift_range, a.height_shift_range))
            self.aug_shear.setValue(a.shear_range)
            self.aug_zoom.setValue(a.zoom_range)
            self.aug_crop.setChecked(a.random_resized_crop)
            self.aug_colour.setValue(max(a.brightness, a.contrast, a.saturation))
            _set_combo(self.aug_fill, a.fill_mode)
        finally:
            for widget, was in zip(self._inputs(), blockers, strict=True):
                widget.blockSignals(was)
        self._refresh()

    def config(self) -> TrainConfig:
        """The settings as shown (data_dir and fields the form does not show come from set_config)."""
        c = TrainConfig.from_dict(self._extra.to_dict())
        c.model = self.model.currentData()
        c.pretrained = self.pretrained.isChecked()
        c.weights_path = self.weights_path.text().strip() or None
        c.freeze_backbone_epochs = self.freeze.value()
        c.epochs, c.batch_size = self.epochs.value(), self.batch_size.value()
        c.early_stopping, c.patience = self.early_stopping.isChecked(), self.patience.value()
        c.min_delta, c.monitor = self.min_delta.value(), self.monitor.currentData()
        c.lr, c.optimizer = self.lr.value(), self.optimizer.currentData()
        c.schedule = self.schedule.currentData()
        c.weight_decay, c.label_smoothing = self.weight_decay.value(), self.label_smoothing.value()
        c.image_size, c.val_fraction = self.image_size.value(), self.val_fraction.value()
        c.seed = self.seed.value()
        c.device, c.mixed_precision = self.device.currentData(), self.mixed_precision.isChecked()
        jitter, shift = self.aug_colour.value(), self.aug_shift.value()
        c.augment = AugmentConfig(
            enabled=self.aug_enabled.isChecked(), horizontal_flip=self.aug_hflip.isChecked(),
            vertical_flip=self.aug_vflip.isChecked(), rotation_range=self.aug_rotation.value(),
            width_shift_range=shift, height_shift_range=shift, shear_range=self.aug_shear.value(),
            zoom_range=self.aug_zoom.value(), random_resized_crop=self.aug_crop.isChecked(),
            crop_scale_min=self._extra.augment.crop_scale_min, brightness=jitter, contrast=jitter,
            saturation=jitter, hue=self._extra.augment.hue, fill_mode=self.aug_fill.currentData(),
            fill_value=self._extra.augment.fill_value)
        return c

    def set_data_dir(self, path: str | None) -> None:
        self._extra.data_dir = path

    def set_training_count(self, n_train: int | None) -> None:
        """How many training images the current folder and validation fraction give."""
        self.n_train = n_train
        self._refresh()

    def set_parameter_count(self, model: str, count: int) -> None:
        self.param_counts[model] = count
        self._refresh()

    # Derived figures and problems --------------------------------------------------------------
    def _on_edit(self) -> None:
        self._refresh()
        self.changed.emit()

    def processes(self) -> int:
        """Processes the run trains on: the GPUs setting (shown with 2+ CUDA GPUs), or
        WORKBENCH_PROCESSES for tests and CPU clusters."""
        from workbench.gui.worker import processes_from_environment

        forced = processes_from_environment()
        if forced > 1:
            return forced
        if self.gpu_count > 1 and self.device.currentData() in ("auto", "cuda"):
            return self.gpus.value()
        return 1

    def problems(self) -> list[str]:
        config = self.config()
        problems = config.problems()
        processes = self.processes()
        if self.n_train is not None and config.batch_size > self.n_train // processes:
            per = " per process" if processes > 1 else ""
            problems.append(f"batch size {config.batch_size} is larger than the "
                            f"{self.n_train // processes} training images{per}")
        return problems

    def _refresh(self) -> None:
        c = self.config()
        count = self.param_counts.get(c.model)
        self.params_label.setText(f"{count:,} parameters" if count else "counting parameters…")
        processes = self.processes()
        if self.n_train and processes > 1:
            # Each process trains on its share (the remainder is left out of each epoch).
            per_epoch = iterations_per_epoch(self.n_train // processes, c.batch_size)
            unit = "GPUs" if self.gpu_count > 1 else "processes"
            self.derived.setText(
                f"{self.n_train} training images ÷ (batch {c.batch_size} × {processes} {unit} = effective "
                f"batch {c.batch_size * processes}) = {per_epoch} iterations per epoch; {c.epochs} epochs "
                f"= {per_epoch * c.epochs:,} iterations")
        elif self.n_train:
            per_epoch = iterations_per_epoch(self.n_train, c.batch_size)
            self.derived.setText(
                f"{self.n_train} training images ÷ batch {c.batch_size} = {per_epoch} iterations per "
                f"epoch; {c.epochs} epochs = {per_epoch * c.epochs:,} iterations")
        else:
            self.derived.setText("Open an image folder to see iterations per epoch.")
        self.notes_label.setText("\n".join(c.notes()))
        self.problems_label.setText("\n".join("• " + p for p in self.problems()))

    def _choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose weights file", "",
                                              "Weights (*.safetensors *.pt *.pth)")
        if path:
            self.weights_path.setText(path)


def _cuda_device_count() -> int:
    """CUDA GPUs the window can train on at once: torchrun needs a Python interpreter, which a
    packaged (frozen) app does not have, so there it counts as one."""
    import sys

    import torch

    if getattr(sys, "frozen", False) or not torch.cuda.is_available():
        return 0
    return torch.cuda.device_count()


def _set_combo(box: QComboBox, value: str) -> None:
    index = box.findData(value)
    box.setCurrentIndex(index if index >= 0 else 0)


def format_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
