"""The window's left column: the image folder, the settings form and the start/stop buttons."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QScrollArea, QVBoxLayout, QWidget

from workbench.gui.offthread import run_in_pool
from workbench.gui.settings_form import SettingsForm

START_TIP = "Train with these settings (Ctrl+Return)"


class SettingsPanel(QWidget):
    """Widgets only; the window connects them. Counts a model's parameters off the GUI thread."""

    def __init__(self, parent=None, *, engine_loaded: bool = True):
        super().__init__(parent)
        self.folder_edit = QLineEdit()
        self.folder_edit.setAccessibleName("Image folder")
        self.folder_edit.setToolTip("The folder with one subfolder of images per class. "
                                    "Press Enter to open it.")
        self.folder_edit.setPlaceholderText("Folder with one subfolder per class")
        self.browse_button = QPushButton("Open…")
        self.browse_button.setAccessibleName("Choose image folder")
        self.browse_button.setToolTip("Choose the image folder (Ctrl+O)")
        self.form = SettingsForm(engine_loaded=engine_loaded)
        self.find_lr_button = QPushButton("Find…")
        self.find_lr_button.setAccessibleName("Find learning rate")
        self.find_lr_button.setToolTip("Sweep the learning rate over a few batches and suggest one "
                                       "(the learning-rate range test)")
        self.form.attach_beside("lr", self.find_lr_button)
        self.start_button = QPushButton("Start training")
        self.start_button.setAccessibleName("Start training")
        self.start_button.setToolTip(START_TIP)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop training")
        self.stop_button.setToolTip("Stop after the current batch and keep the best checkpoint (Esc)")

        column = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit)
        row.addWidget(self.browse_button)
        column.addLayout(row)
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(self.form.sizeHint().width() + 24)
        column.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 2)
        buttons.addWidget(self.stop_button, 1)
        column.addLayout(buttons)

    def set_running(self, running: bool, blocked: str | None = None) -> None:
        """``blocked``: why Start cannot be pressed now (its tooltip says so), or None."""
        self.start_button.setEnabled(not running and blocked is None)
        self.start_button.setToolTip(f"Cannot start: {blocked}" if blocked and not running else START_TIP)
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)

    def count_parameters(self, classes: int) -> None:
        """Show the chosen model's parameter count (built once per model, on a pool thread)."""
        config = self.form.config()
        if not self.form.engine_loaded or config.model in self.form.param_counts or config.problems():
            return
        model, size = config.model, config.image_size

        def count():
            from workbench.models import parameter_count

            return model, parameter_count(model, classes, size)

        run_in_pool(count,
                    lambda result: self.form.set_parameter_count(*result), None, owner=self)
