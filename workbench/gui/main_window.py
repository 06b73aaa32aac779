"""The training window: point at a folder, pick settings, train, watch, keep the weights.

A thin view over the engine: settings become a TrainConfig, the run happens in a worker thread
(:mod:`workbench.gui.training.thread_run`) and its events are drawn here. Nothing heavy runs on this thread.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench import __version__
from workbench.config import ConfigError, TrainConfig

# Imported here, before the window shows: a first import inside the worker thread would run
# extension-module initialisation (torch, torchvision) under the GIL and freeze the window.
from workbench.engine import trainer as _trainer  # noqa: F401
from workbench.gui.common import CallSignals as _Call
from workbench.gui.common import PoolTask as _Task
from workbench.gui.dataset.panel import DatasetPanel
from workbench.gui.dataset.preview import AugmentationPreview
from workbench.gui.plots import TrainingPlots
from workbench.gui.results.view import ResultsView
from workbench.gui.runs.export_dialog import ExportDialog
from workbench.gui.runs.runs_view import RunsView
from workbench.gui.settings_form import SettingsForm
from workbench.gui.training.failure_dialog import failure_dialog
from workbench.gui.training.progress import ProgressPanel
from workbench.gui.training.thread_run import TrainingController
from workbench.gui.try_it.view import TryItView
from workbench.resources_path import sample_data_dir

MAX_RECENT = 8


class MainWindow(QMainWindow):
    """``MainWindow()`` builds the window; ``open_dataset(path)`` is what the picker and drops call."""

    datasetOpened = Signal(object)  # the DatasetScan, or None when the folder was refused
    runFinished = Signal(object)  # the summary, or None after an error

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle(f"Workbench {__version__}")
        self.setAcceptDrops(True)
        self.settings = settings or QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                                              "workbench", "workbench")
        self.scan = None
        self.summary: dict | None = None
        self.run_dir: str | None = None
        self.last_error: str | None = None
        self._last_fault: dict | None = None  # the engine's "error" event of the current run
        self._dataset_error: str | None = None
        self._scan_request = 0
        self._pending_batches: list[dict] = []
        self._global_iteration = 0
        self._pool = QThreadPool(self)
        self._scan_call = _Call()
        self._scan_call.done.connect(self._on_scan_done)
        self._param_call = _Call()
        self._param_call.done.connect(self._on_param_count)

        self.controller = TrainingController(self)
        self.controller.event.connect(self._on_event)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(self._on_failed)
        self.controller.runningChanged.connect(self._update_buttons)

        self._build_widgets()
        self._build_menus()
        self._restore_settings()
        # Batch events arrive in bursts; drawing at 4 Hz keeps the event loop free and leaves
        # the CPU to training (each redraw of the iteration plots costs a few milliseconds).
        self._redraw = QTimer(self)
        self._redraw.setInterval(250)
        self._redraw.timeout.connect(self._flush_batches)
        self._redraw.start()
        self.statusBar().showMessage("Open an image folder (Ctrl+O) to start.")

    # Construction -----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.folder_edit = QLineEdit()
        self.folder_edit.setAccessibleName("Image folder")
        self.folder_edit.setToolTip("The folder with one subfolder of images per class. "
                                    "Press Enter to open it.")
        self.folder_edit.setPlaceholderText("Folder with one subfolder per class")
        self.folder_edit.returnPressed.connect(lambda: self.open_dataset(self.folder_edit.text()))
        browse = QPushButton("Open…")
        browse.setAccessibleName("Choose image folder")
        browse.setToolTip("Choose the image folder (Ctrl+O)")
        browse.clicked.connect(self.choose_folder)

        self.form = SettingsForm()
        self.form.changed.connect(self._on_settings_changed)
        self.start_button = QPushButton("Start training")
        self.start_button.setAccessibleName("Start training")
        self.start_button.setToolTip("Train with these settings (Ctrl+Return)")
        self.start_button.clicked.connect(self.start_training)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop training")
        self.stop_button.setToolTip("Stop after the current batch and keep the best checkpoint (Esc)")
        self.stop_button.clicked.connect(self.stop_training)

        left = QWidget()
        column = QVBoxLayout(left)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit)
        row.addWidget(browse)
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

        self.dataset_panel = DatasetPanel()
        self.preview = AugmentationPreview()
        self.preview.setToolTip("Training images as the model sees them after random augmentation; "
                                "changes with the augmentation settings.")
        dataset_tab = QSplitter(Qt.Orientation.Vertical)
        dataset_tab.addWidget(self.dataset_panel)
        dataset_tab.addWidget(self.preview)

        self.plots = TrainingPlots()
        self.progress = ProgressPanel()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setAccessibleName("Log")
        self.log.setToolTip("Messages from the training engine")
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.log)
        training_tab = QSplitter(Qt.Orientation.Vertical)
        training_tab.addWidget(self.plots)
        training_tab.addWidget(bottom)
        training_tab.setStretchFactor(0, 3)

        self.results = ResultsView()
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Views")
        self.tabs.addTab(dataset_tab, "Dataset")
        self.tabs.addTab(training_tab, "Training")
        self.tabs.addTab(self.results, "Results")
        self._build_history_views()

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)
        self.device_label = QLabel("")
        self.statusBar().addPermanentWidget(self.device_label)
        self.resize(1400, 900)
        self._update_buttons(False)

    def _build_history_views(self) -> None:
        self.runs_view = RunsView(self.settings)
        self.tabs.addTab(self.runs_view, "Runs")
        self.controller.event.connect(self.runs_view.training_event)
        self.controller.runningChanged.connect(self.runs_view.set_training)
        self.runs_view.rerunRequested.connect(self.rerun)
        self.runs_view.resumeRequested.connect(self.resume_run)
        self.runs_view.refresh()
        self.try_it = TryItView()
        self.tabs.addTab(self.try_it, "Try it")
        self.runFinished.connect(self.try_it.run_finished)
        self.runs_view.tryRequested.connect(self._try_model)
        self.runs_view.exportRequested.connect(self.export_model_dialog)

    def _try_model(self, path: str) -> None:
        self.try_it.set_model(path)
        self.tabs.setCurrentWidget(self.try_it)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open image folder…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.choose_folder)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.export_action = QAction("&Export model…", self, shortcut=QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(lambda: self.export_model_dialog())
        self.export_action.setEnabled(False)
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        train_menu = self.menuBar().addMenu("&Train")
        self.start_action = QAction("&Start training", self, shortcut=QKeySequence("Ctrl+Return"))
        self.start_action.triggered.connect(self.start_training)
        self.stop_action = QAction("S&top training", self, shortcut=QKeySequence(Qt.Key.Key_Escape))
        self.stop_action.triggered.connect(self.stop_training)
        train_menu.addActions([self.start_action, self.stop_action])
        for action in (self.open_action, self.export_action, self.start_action, self.stop_action):
            self.addAction(action)  # shortcuts work whatever has focus

        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About Workbench", self)
        about.triggered.connect(lambda: QMessageBox.about(
            self, "About Workbench", f"Workbench {__version__}\nTrain image classifiers on your own images."))
        help_menu.addAction(about)

    # Dataset -----------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        start = self.folder_edit.text() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Choose image folder", start)
        if path:
            self.open_dataset(path)

    def open_dataset(self, path: str | Path) -> None:
        """Scan ``path`` off the GUI thread; ``datasetOpened`` fires when it is shown."""
        from workbench.data.scan import scan_image_folder

        path = str(Path(path).expanduser())
        self.folder_edit.setText(path)
        self.form.set_data_dir(path)
        self._scan_request += 1
        self.statusBar().showMessage(f"Scanning {path}…")
        config = self.form.config()
        self._pool.start(_Task(self._scan_request, lambda: scan_image_folder(
            path, config.max_image_megapixels), self._scan_call))

    def _on_scan_done(self, request: int, scan, error) -> None:
        if request != self._scan_request:
            return  # a newer folder was opened meanwhile
        self.scan = scan
        self._dataset_error = error
        if error:
            self.dataset_panel.show_error(error)
            self.form.set_training_count(None)
            self.statusBar().showMessage(error)
            self.datasetOpened.emit(None)
            return
        self.dataset_panel.show_scan(scan)
        self._remember_folder(scan.root)
        self._update_split()
        self._count_parameters()
        self.statusBar().showMessage(f"{scan.num_images} images in {len(scan.class_names)} classes: "
                                     f"{scan.root}")
        self.datasetOpened.emit(scan)

    def _update_split(self) -> None:
        from workbench.data.prepare import split_samples

        if self.scan is None:
            return
        config = self.form.config()
        train, _val = split_samples(self.scan, config)
        self.form.set_training_count(len(train))
        self.preview.set_samples(train, self.scan.class_names)
        self.preview.set_config(config)

    def _count_parameters(self) -> None:
        from workbench.models import parameter_count

        config = self.form.config()
        if config.model in self.form.param_counts or config.problems():
            return
        classes = len(self.scan.class_names) if self.scan else 2
        model, size = config.model, config.image_size
        self._pool.start(_Task(0, lambda: (model, parameter_count(model, classes, size)),
                               self._param_call))

    def _on_param_count(self, _request: int, result, _error) -> None:
        if result:
            self.form.set_parameter_count(*result)

    def _on_settings_changed(self) -> None:
        self._update_split()
        self._count_parameters()
        self._update_buttons(self.controller.running)

    # Drag and drop -----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 — Qt override
        urls = event.mimeData().urls()
        if urls and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 — Qt override
        urls = event.mimeData().urls()
        if urls:
            self.open_dataset(urls[0].toLocalFile())
            event.acceptProposedAction()

    # Training ------------------------------------------------------------------------------------
    def start_training(self) -> None:
        if self.controller.running:
            return
        problems = self.form.problems()
        if self.scan is None:
            problems.insert(0, f"the image folder cannot be trained on: {self._dataset_error}"
                            if self._dataset_error else "open an image folder that can be trained on first")
        if problems:
            self.statusBar().showMessage("Cannot start: " + problems[0])
            return
        config = self.form.config()
        try:
            config.validate()
        except ConfigError as exc:
            self.statusBar().showMessage(str(exc))
            return
        self._save_settings()
        self._launch(config, scan=self.scan)

    def rerun(self, config: TrainConfig) -> None:
        """Load a past run's settings into the form and train them once its image folder is scanned."""
        if self.controller.running:
            return

        def start_when_scanned(scan) -> None:
            self.datasetOpened.disconnect(start_when_scanned)
            if scan is not None:
                self.start_training()

        self.form.set_config(config)
        self.datasetOpened.connect(start_when_scanned)
        self.open_dataset(config.data_dir or sample_data_dir())

    def resume_run(self, run_dir: str, config: TrainConfig) -> None:
        """Continue a stopped or unfinished run in its own folder, from its last checkpoint."""
        if not self.controller.running:
            self._launch(config, resume=run_dir)

    def _launch(self, config: TrainConfig, resume: str | None = None, scan=None) -> None:
        self.plots.reset()
        self.progress.reset()
        self.results.clear()
        self.log.clear()
        self.summary = None
        self.last_error = None
        self._last_fault = None
        self._pending_batches.clear()
        self._global_iteration = 0
        self.tabs.setCurrentIndex(1)
        self.controller.processes = self.form.processes()  # > 1: torchrun child processes
        self.controller.start(config, runs_root=self.runs_view.runs_root(), scan=scan, resume=resume)
        self.statusBar().showMessage("Resuming…" if resume else "Training…")

    def stop_training(self) -> None:
        if self.controller.running:
            self.controller.stop()
            self.statusBar().showMessage("Stopping after the current batch…")

    def _on_event(self, kind: str, data: dict) -> None:
        if kind == "batch_end":
            self._pending_batches.append(data)
        elif kind == "epoch_end":
            self._flush_batches()
            self.plots.add_epoch(data)
            if data.get("best_epoch"):
                self.plots.mark_best(data["best_epoch"])
            self.progress.epoch_done(data)
        elif kind == "run_start":
            self.run_dir = data["run_dir"]
            self.progress.run_started(data)
            self.device_label.setText(data["device_name"])
            self._global_iteration = (data["start_epoch"] - 1) * data["iterations_per_epoch"]
            for metrics in data.get("history", []):
                self.plots.add_epoch(metrics)
            if self.scan is not None:  # files that failed to decode join the Dataset tab's list
                self.dataset_panel.show_skipped(data.get("skipped", []), self.scan.root)
        elif kind == "cache_progress":
            self.progress.cache_progress(data["done"], data["total"])
        elif kind == "early_stop":
            self.plots.mark_stop(data["epoch"])
        elif kind == "log":
            self.log.appendPlainText(data["message"])
        elif kind == "checkpoint_saved":
            self.export_action.setEnabled(True)
        elif kind == "error":
            self._last_fault = data

    def _flush_batches(self) -> None:
        if not self._pending_batches:
            return
        batches, self._pending_batches = self._pending_batches, []
        points = []
        for b in batches:
            self._global_iteration += 1
            points.append((self._global_iteration, b["loss"], b["lr"]))
        self.plots.add_batches(points)
        self.progress.batch(batches[-1])

    def _on_finished(self, summary: dict) -> None:
        from workbench.engine.trainer import Trainer

        self._flush_batches()
        self.summary = summary
        self.results.show_summary(summary)
        if summary.get("best_epoch"):
            self.plots.mark_best(summary["best_epoch"])
        line = Trainer.one_line_summary(summary)
        self.log.appendPlainText(line)
        self.statusBar().showMessage(line)
        self.tabs.setTabText(2, "Results •")
        self.export_action.setEnabled(bool(summary.get("best_epoch")))
        self.runFinished.emit(summary)

    def _on_failed(self, message: str) -> None:
        self.last_error = message
        self.log.appendPlainText(f"Error: {message}")
        self.statusBar().showMessage(f"Training failed: {message}")
        self._error_box = failure_dialog(self, message, self._last_fault, self.retry_with_batch_size)
        self.runFinished.emit(None)

    def retry_with_batch_size(self, batch_size: int) -> None:
        """Start again with ``batch_size`` (the out-of-memory dialog's retry), once the failed
        run's thread has ended."""
        self.form.batch_size.setValue(batch_size)
        if not self.controller.running:
            self.start_training()
            return

        def start_when_idle(running: bool) -> None:
            if not running:
                self.controller.runningChanged.disconnect(start_when_idle)
                self.start_training()

        self.controller.runningChanged.connect(start_when_idle)

    def _update_buttons(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)
        if hasattr(self, "start_action"):
            self.start_action.setEnabled(not running)
            self.stop_action.setEnabled(running)

    # Export ------------------------------------------------------------------------------------
    def export_model_dialog(self, run_dir: str | None = None) -> ExportDialog | None:
        """Open the export dialog for ``run_dir`` (default: this window's latest run)."""
        run_dir = run_dir or self.run_dir
        if not run_dir:
            return None
        dialog = ExportDialog(run_dir, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.exported.connect(lambda result: self.statusBar().showMessage(result.describe()))
        dialog.open()
        return dialog

    # Settings persistence -----------------------------------------------------------------------
    def _remember_folder(self, folder: str) -> None:
        recent = [f for f in self._recent() if f != folder]
        recent.insert(0, folder)
        self.settings.setValue("recent_folders", json.dumps(recent[:MAX_RECENT]))
        self.settings.setValue("last_folder", folder)
        self._fill_recent_menu()

    def _recent(self) -> list[str]:
        try:
            return list(json.loads(self.settings.value("recent_folders", "[]")))
        except (TypeError, ValueError):
            return []

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for folder in self._recent():
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.open_dataset(f))
        self.recent_menu.setEnabled(bool(self._recent()))

    def _restore_settings(self) -> None:
        saved = self.settings.value("config")
        if saved:
            try:
                self.form.set_config(TrainConfig.from_dict(json.loads(saved)))
            except (ConfigError, TypeError, ValueError):
                pass  # settings from another version: keep the defaults
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = self.settings.value("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        self._fill_recent_menu()

    def _save_settings(self) -> None:
        self.settings.setValue("config", json.dumps(self.form.config().to_dict()))
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("splitter", self.splitter.saveState())
        self.settings.sync()

    def last_folder(self) -> str | None:
        folder = self.settings.value("last_folder")
        return folder if folder and Path(folder).is_dir() else None

    def closeEvent(self, event) -> None:  # noqa: N802 — Qt override
        self._save_settings()
        if self.controller.running:
            self.controller.stop()
            self.controller.wait(60_000)
        super().closeEvent(event)
