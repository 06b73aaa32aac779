"""The headline and key numbers of a run summary."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QGridLayout, QLabel

from workbench.engine.summary import one_line_summary

DASH = "—"
DETAIL_KEYS = ("Best epoch", "Validation loss", "Validation accuracy", "Epochs run",
               "Training accuracy", "Total time", "Device", "Images trained", "Dataset size",
               "Lowest recall", "Why it stopped")


def pct(value) -> str:
    return DASH if value is None else f"{value:.1%}"


def format_duration(seconds) -> str:
    if seconds is None:
        return DASH
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class SummaryBlock:
    """``label`` (how the run ended) above ``grid`` (a label per :data:`DETAIL_KEYS`)."""

    def __init__(self) -> None:
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setAccessibleName("Run summary")
        self.label.setToolTip("How the run ended and its best epoch")
        font = self.label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.label.setFont(font)

        self.details: dict[str, QLabel] = {}
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(2)
        for i, key in enumerate(DETAIL_KEYS):
            name, value = QLabel(f"{key}:"), QLabel(DASH)
            name.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(key)
            self.details[key] = value
            if key == "Why it stopped":  # can be a long error message: give it the whole row
                row, col, span = (len(DETAIL_KEYS) + 1) // 3, 0, 5
                value.setWordWrap(True)
            else:
                row, col, span = i // 3, (i % 3) * 2, 1
            self.grid.addWidget(name, row, col)
            self.grid.addWidget(value, row, col + 1, 1, span)
        for col in (1, 3, 5):
            self.grid.setColumnStretch(col, 1)
        self.details["Images trained"].setToolTip(
            "Training images processed over all epochs, augmented copies included")
        # Accuracy hides a class the model misses when the classes are imbalanced: its weakest
        # class's recall sits beside it.
        self.details["Lowest recall"].setToolTip(
            "The class whose validation images are recognised least often, and the share that are")

    def clear(self) -> None:
        self.label.setText("No run to show yet.")
        for label in self.details.values():
            label.setText(DASH)

    def show(self, s: dict) -> None:
        status = str(s.get("status") or "").capitalize()
        line = one_line_summary(s)
        self.label.setText(f"{status} — {line}" if status else line)
        best = s.get("best_metrics") or {}
        d = self.details
        d["Best epoch"].setText(str(s["best_epoch"]) if s.get("best_epoch") else DASH)
        # A final model (no validation split) has training numbers only.
        d["Validation loss"].setText(f"{best['val_loss']:.4f}" if best.get("val_loss") is not None else DASH)
        d["Validation accuracy"].setText(pct(best.get("val_acc")))
        d["Training accuracy"].setText(pct(best.get("train_acc")))
        d["Epochs run"].setText(f"{s.get('stopped_epoch', 0)} of {s.get('epochs', '?')} planned")
        d["Total time"].setText(format_duration(s.get("total_seconds")))
        device, name = s.get("device") or "", s.get("device_name") or ""
        # device_name already says "CPU (…)" on the CPU; the device string only adds to a GPU's name.
        if name and device and device.split(":")[0].lower() not in name.lower():
            name = f"{name} ({device})"
        d["Device"].setText(name or device or DASH)
        images = s.get("total_train_images")
        d["Images trained"].setText(f"{images:,}" if images is not None else DASH)
        validation = f"{s['n_val']:,} validation" if s.get("n_val") else "no validation split"
        test = f" / {s['n_test']:,} test" if s.get("n_test") else ""
        d["Dataset size"].setText(f"{s.get('n_train', 0):,} train / {validation}{test}")
        d["Lowest recall"].setText(lowest_recall_text(s.get("per_class")))
        d["Why it stopped"].setText(s.get("stop_reason") or DASH)


def lowest_recall_text(per_class: list[dict] | None) -> str:
    """E.g. "42.0 % (star)": the validation recall of the class recognised least often."""
    if not per_class:
        return DASH
    weakest = min(per_class, key=lambda row: row["recall"])
    return f"{pct(weakest['recall'])} ({weakest['class']})"
