"""The dialog a failed run opens: what happened in words, and for out of memory a one-click retry."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from workbench.engine import events as ev


def failure_dialog(parent: QWidget, error: ev.Error, retry: Callable[[int], None]) -> QMessageBox:
    """A non-modal error box for the run's Error event; when it says out of memory, a
    "Retry with batch size N" button calls ``retry(N)``."""
    box = QMessageBox(QMessageBox.Icon.Critical, "Training failed", error.message, parent=parent)
    box.setObjectName("failureDialog")
    box.setAccessibleName("Training failed")
    suggested = error.details.get("suggested_batch_size")
    if (error.reason == "out_of_memory" and suggested
            and suggested < error.details.get("batch_size", suggested + 1)):
        button = box.addButton(f"Retry with batch size {suggested}", QMessageBox.ButtonRole.AcceptRole)
        button.setObjectName("retryButton")
        button.setToolTip("Start the run again with half the batch size")
        button.clicked.connect(lambda: retry(suggested))
        box.addButton(QMessageBox.StandardButton.Close)
    else:
        box.addButton(QMessageBox.StandardButton.Ok)
    box.open()  # not exec(): the window stays live and tests are never blocked
    return box
