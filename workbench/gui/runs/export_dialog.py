"""The Export dialog: save a run's model as .pt, safetensors, TorchScript or ONNX, verified.

:func:`workbench.export.export_model` writes the file and checks it reproduces the trained model
on validation images; it runs on a pool thread and its verdict is shown in a message box.
An existing file is only replaced after the user says so; a run's own files never are.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.export_paths import CHECKPOINTS, FORMATS, ExportError, default_export_path, export_target
from workbench.gui.common import open_folder
from workbench.gui.offthread import run_in_pool
from workbench.model_file_names import FILE_SUFFIXES, metadata_path_for
from workbench.safe_text import printable

FORMAT_NAMES = {
    "pt": "PyTorch state_dict (.pt)",
    "safetensors": "safetensors (.safetensors)",
    "torchscript": "TorchScript (.torchscript.pt)",
    "onnx": "ONNX (.onnx)",
}
FORMAT_TIPS = {
    "pt": "Weights only; load with torch.load(weights_only=True) into the same architecture",
    "safetensors": "Weights only, in the safe format that cannot carry code",
    "torchscript": "A self-contained program: torch.jit.load runs it without Workbench",
    "onnx": "For ONNX Runtime, TensorRT, OpenVINO, Core ML converters and other runtimes",
}


def verification_text(result) -> str:
    """E.g. "verified: max abs difference 3.1e-07 on 8 validation images"."""
    return (f"verified: max abs difference {result.max_abs_diff:.1e} on {result.images_checked} "
            f"{result.checked_on}")


class ExportDialog(QDialog):
    """Choose format, checkpoint and file for the run in ``run_dir``, then export and verify."""

    exported = Signal(object)  # the ExportResult
    failed = Signal(str)  # why the export was refused

    def __init__(self, run_dir: str | Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.setWindowTitle(f"Export model — {self.run_dir.name}")
        self.message_box: QMessageBox | None = None
        self.overwrite_box: QMessageBox | None = None  # "replace the existing file?", while open
        self._path_edited = False
        self._exporting = False

        self.format = QComboBox()
        self.format.setAccessibleName("Export format")
        for fmt in FORMATS:
            self.format.addItem(FORMAT_NAMES[fmt], fmt)
            self.format.setItemData(self.format.count() - 1, FORMAT_TIPS[fmt], Qt.ItemDataRole.ToolTipRole)
        self.format.setToolTip("The file format to write")
        self.checkpoint = QComboBox()
        self.checkpoint.setAccessibleName("Checkpoint")
        self.checkpoint.setToolTip("best: the epoch with the best monitored metric; last: the final epoch")
        for which in CHECKPOINTS:
            self.checkpoint.addItem(which, which)
        self.path = QLineEdit()
        self.path.setAccessibleName("Export file")
        self.path.setToolTip("The file to write; its metadata (classes, input size, normalisation) "
                             "goes beside it as <file>.json")
        self.path.textEdited.connect(self._on_path_edited)
        browse = QPushButton("Browse…")
        browse.setAccessibleName("Choose export file")
        browse.setToolTip("Choose where to save the exported model")
        browse.clicked.connect(self.choose_path)
        self.status = QLabel("The exported file is loaded back and compared with the trained model "
                             "on validation images.")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Export status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy the path

        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Run:", QLabel(str(self.run_dir)))
        form.addRow("Format:", self.format)
        form.addRow("Checkpoint:", self.checkpoint)
        form.addRow("File:", path_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setAccessibleName("Export")
        self.export_button.setToolTip("Write the file and verify it")
        self.export_button.setDefault(True)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel export")
        cancel.setToolTip("Close without exporting")
        self.buttons.accepted.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._suggest_path)
        self.checkpoint.currentIndexChanged.connect(self._suggest_path)
        self._suggest_path()
        self.resize(640, self.sizeHint().height())

    def _on_path_edited(self) -> None:
        self._path_edited = True

    def _suggest_path(self) -> None:
        fmt, which = self.format.currentData(), self.checkpoint.currentData()
        if not self._path_edited:
            self.path.setText(str(default_export_path(self.run_dir, fmt, which)))

    def choose_path(self) -> None:
        fmt = self.format.currentData()
        path, _ = QFileDialog.getSaveFileName(self, "Export model", self.path.text(),
                                              f"{FORMAT_NAMES[fmt]} (*{FILE_SUFFIXES[fmt]});;All files (*)")
        if path:
            self.path.setText(path)
            self._path_edited = True

    def start_export(self, force: bool = False) -> None:
        """Export with the chosen settings on a pool thread; ``exported`` or ``failed`` follows.

        If the file (or its metadata file) exists, the user is asked first; ``force`` is the yes."""
        fmt, which = self.format.currentData(), self.checkpoint.currentData()
        out = self.path.text().strip() or None
        run_dir = self.run_dir
        if not force:
            try:
                target = export_target(run_dir, fmt, which, out, force=True)  # refusals, not existence
            except ExportError as exc:
                self._on_done(0, None, str(exc))
                return
            existing = [p for p in (target, metadata_path_for(target)) if p.exists()]
            if existing:
                self._confirm_overwrite(existing)
                return
        self.status.setText(f"Exporting {FORMAT_NAMES[fmt]} and verifying it…")
        self._set_busy(True)
        # The global pool, not one owned by the dialog: destroying an owned pool would block the
        # GUI thread until a running export ends.
        def export():
            from workbench.export import export_model  # torch: on the pool thread

            return export_model(run_dir, fmt, which, out, force)

        run_in_pool(export,
                    lambda result: self._on_done(0, result, None),
                    lambda error: self._on_done(0, None, error), owner=self)

    def _confirm_overwrite(self, existing: list[Path]) -> None:
        names = "\n".join(printable(p) for p in existing)
        box = QMessageBox(QMessageBox.Icon.Question, "Replace existing file?",
                          f"{'This file exists' if len(existing) == 1 else 'These files exist'}:\n{names}\n\n"
                          "Replace with the new export? (It is only replaced once the export is verified.)",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered(_result: int) -> None:
            self.overwrite_box = None
            if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
                self.start_export(force=True)
            else:
                self.status.setText("Not exported: choose another file name, or confirm replacing it.")

        box.finished.connect(answered)
        self.overwrite_box = box
        box.open()

    def _set_busy(self, busy: bool) -> None:
        self._exporting = busy
        for widget in (self.format, self.checkpoint, self.path, self.export_button,
                       self.buttons.button(QDialogButtonBox.StandardButton.Cancel)):
            widget.setEnabled(not busy)

    def reject(self) -> None:
        if not self._exporting:  # the export finishes (a few seconds) and reports before closing
            super().reject()

    def _on_done(self, _request: int, result, error) -> None:
        self._set_busy(False)
        if error:
            self.status.setText(f"Export failed: {printable(error)}")
            self._show_message(QMessageBox.Icon.Critical, "Export failed", printable(error))
            self.failed.emit(error)
            return
        verdict = verification_text(result)
        self.status.setText(f"Exported to {result.path}; {verdict}.")
        self._show_message(QMessageBox.Icon.Information, "Model exported",
                           f"Exported {FORMAT_NAMES[result.format]} to\n{result.path}\n"
                           f"Metadata: {result.metadata_path}\n\n{verdict.capitalize()}.",
                           folder=result.path.parent)
        self.exported.emit(result)

    def _show_message(self, icon, title: str, text: str, folder: Path | None = None) -> None:
        # open(), not exec(): the window stays live and tests read the box instead of blocking on it.
        self.message_box = QMessageBox(icon, title, text, parent=self)
        if folder is not None:  # the export's folder, in the file manager (the box closes too)
            self.message_box.addButton(QMessageBox.StandardButton.Ok)
            button = self.message_box.addButton("Open folder", QMessageBox.ButtonRole.ActionRole)
            button.setAccessibleName("Open export folder")
            button.setToolTip(f"Show {printable(folder)} in the file manager")
            button.clicked.connect(lambda: open_folder(folder))
        self.message_box.finished.connect(lambda _r: self.accept() if icon == QMessageBox.Icon.Information
                                          else None)
        self.message_box.open()
