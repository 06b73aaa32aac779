"""The training window: point at a folder, pick settings, train, watch, keep the weights.

Layout, menus and wiring only. Each tab is its own module (``dataset/``, ``training/``,
``results/``, ``runs/``, ``try_it/``); the Training tab owns the run and the
:class:`~workbench.session.TrainingSession` that every view here connects to.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench import __version__
from workbench.config import ConfigError, TrainConfig
from workbench.engine import events as ev
from workbench.engine.summary import one_line_summary
from workbench.gui.dataset.tab import DatasetTab
from workbench.gui.engine_loader import EngineLoader, engine_imported
from workbench.gui.report_action import ReportSaver
from workbench.gui.results.view import ResultsView
from workbench.gui.runs.export_dialog import ExportDialog
from workbench.gui.runs.runs_view import RunsView
from workbench.gui.settings_panel import SettingsPanel
from workbench.gui.studies.actions import StudyActions
from workbench.gui.training.failure_dialog import failure_dialog
from workbench.gui.training.run import RunOutcome
from workbench.gui.training.tab import TrainingTab
from workbench.gui.try_it.view import TryItView
from workbench.gui.window_settings import WindowSettings
from workbench.resources_path import sample_data_dir


class MainWindow(QMainWindow):
    """``MainWindow()`` builds the window; ``open_dataset(path)`` is what the picker and drops call."""

    datasetOpened = Signal(object)  # the DatasetScan, or None when the folder was refused
    runFinished = Signal(object)  # the summary, or None after an error; the run has ended

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle(f"Workbench {__version__}")
        self.setAcceptDrops(True)
        self.settings = settings or QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                                              "workbench", "workbench")
        self.remembered = WindowSettings(self.settings)
        self.summary: dict | None = None
        self.last_error: str | None = None
        # Torch and the engine load in the background once the window is on screen (see
        # gui/engine_loader.py); until then the folder and the settings work and Start waits.
        self.engine = EngineLoader(self)
        self.engine.loaded.connect(self._on_engine_loaded)
        self.engine.failed.connect(self._on_engine_failed)
        self._build_widgets()
        self._build_menus()
        self._wire_session()
        self._restore_settings()
        self.statusBar().showMessage("Open an image folder (Ctrl+O) to start.")

    @property
    def scan(self):
        return self.dataset_tab.scan

    @property
    def run_dir(self) -> str | None:
        return self.session.run_dir

    # Construction -----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.settings_panel = SettingsPanel(engine_loaded=engine_imported())
        self.form = self.settings_panel.form
        self.folder_edit = self.settings_panel.folder_edit
        self.start_button = self.settings_panel.start_button
        self.stop_button = self.settings_panel.stop_button
        self.folder_edit.returnPressed.connect(lambda: self.open_dataset(self.folder_edit.text()))
        self.settings_panel.browse_button.clicked.connect(self.choose_folder)
        self.form.changed.connect(self._on_settings_changed)
        self.start_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop_training)

        self.dataset_tab = DatasetTab()
        self.dataset_panel, self.preview = self.dataset_tab.panel, self.dataset_tab.preview
        # The preview needs torch: it waits for the background load (see gui/engine_loader.py).
        # So does reading a saved audit (its imports compete with the window's first paints).
        self.preview.waiting_for = self.dataset_tab.audit.waiting_for = lambda: (
            None if self.engine.is_loaded or self.engine.error else "PyTorch has loaded")
        self.dataset_tab.scanned.connect(self._on_scanned)
        self.dataset_panel.settingRequested.connect(self.form.set_value)
        self.training_tab = TrainingTab()
        self.session, self.controller = self.training_tab.session, self.training_tab.controller
        self.plots, self.progress, self.log = (self.training_tab.plots, self.training_tab.progress,
                                               self.training_tab.log)
        self.controller.runningChanged.connect(self._update_buttons)
        self.controller.ended.connect(self._on_run_ended)
        self._defer_full_collections()
        self.results = ResultsView()
        self.runs_view = RunsView(self.settings)
        self.runs_view.rerunRequested.connect(self.rerun)
        self.runs_view.resumeRequested.connect(self.resume_run)
        self.runs_view.exportRequested.connect(self.export_model_dialog)
        self.runs_view.reportRequested.connect(self.save_report)
        self.report_saver = ReportSaver(self)
        self.report_saver.saved.connect(lambda path: self.statusBar().showMessage(f"Report saved to {path}"))
        self.report_saver.failed.connect(self.statusBar().showMessage)
        self.runs_view.tryRequested.connect(self._try_model)
        self.controller.runningChanged.connect(self.runs_view.set_training)
        self.runs_view.refresh()
        self.try_it = TryItView()
        self.runFinished.connect(self.try_it.run_finished)
        # A finished run can check its dataset's labels (Dataset tab → Audit).
        self.runFinished.connect(lambda s: s and self.dataset_tab.audit.offer_source(s.get("run_dir", "")))
        self.tabs = QTabWidget()
        self.studies = StudyActions(self)
        self.cross_validation = self.studies.view
        self.search_view = self.studies.search.view
        self.settings_panel.find_lr_button.clicked.connect(self.studies.find_learning_rate)
        self.form.changed.connect(self.studies.update_estimate)

        self.tabs.setAccessibleName("Views")
        for widget, title in ((self.dataset_tab, "Dataset"), (self.training_tab, "Training"),
                              (self.results, "Results"), (self.cross_validation, "Cross-validation"),
                              (self.search_view, "Search"), (self.runs_view, "Runs"),
                              (self.try_it, "Try it")):
            self.tabs.addTab(widget, title)
        self.sample_banner = QLabel()
        self.sample_banner.setAccessibleName("Sample data notice")
        self.sample_banner.setStyleSheet("QLabel { background: palette(alternate-base); border: 1px "
                                         "solid palette(mid); border-radius: 4px; padding: 6px; }")
        self.sample_banner.hide()
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.sample_banner)
        column.addWidget(self.tabs, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.settings_panel)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)
        self.device_label = QLabel("")
        self.statusBar().addPermanentWidget(self.device_label)
        self.resize(1400, 900)

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
        self.report_action = QAction("Save &report…", self, shortcut=QKeySequence("Ctrl+Shift+S"))
        self.report_action.setToolTip("One HTML file with this run's settings, data, curves, errors and "
                                      "environment, to keep or send")
        self.report_action.triggered.connect(lambda: self.save_report())
        self.report_action.setEnabled(False)
        file_menu.addAction(self.report_action)
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
        train_menu.addSeparator()
        self.find_lr_action = QAction("&Find learning rate…", self)
        self.find_lr_action.triggered.connect(self.studies.find_learning_rate)
        self.cv_action = QAction("&Cross-validate…", self)
        self.cv_action.triggered.connect(lambda: self.tabs.setCurrentWidget(self.cross_validation))
        self.search_action = QAction("Searc&h settings…", self)
        self.search_action.triggered.connect(lambda: self.tabs.setCurrentWidget(self.search_view))
        train_menu.addActions([self.find_lr_action, self.cv_action, self.search_action])
        for action in (self.open_action, self.export_action, self.start_action, self.stop_action):
            self.addAction(action)  # shortcuts work whatever has focus

        help_menu = self.menuBar().addMenu("&Help")
        self.guide_action = QAction("&User guide", self, shortcut=QKeySequence.StandardKey.HelpContents)
        self.guide_action.setToolTip("Epochs, batches, early stopping, choosing settings, every setting")
        self.guide_action.triggered.connect(lambda: self.show_guide())
        help_menu.addAction(self.guide_action)
        self.addAction(self.guide_action)
        self.form.helpRequested.connect(self.show_guide)
        about = QAction("&About Workbench", self)
        about.triggered.connect(lambda: QMessageBox.about(
            self, "About Workbench", f"Workbench {__version__}\nTrain image classifiers on your own images."))
        help_menu.addAction(about)
        self._update_buttons(False)

    def _wire_session(self) -> None:
        """The views outside the Training tab that follow the run."""
        signals = self.session.signals
        signals.reset.connect(self.results.clear)
        signals.started.connect(lambda e: self.device_label.setText(e.device_name))
        signals.started.connect(lambda e: self.dataset_tab.show_skipped(e.skipped))
        signals.started.connect(lambda e: self.runs_view.run_started(e.run_dir))
        signals.checkpoint.connect(lambda _e: self.export_action.setEnabled(True))
        signals.started.connect(lambda _e: self.report_action.setEnabled(True))
        signals.finished.connect(self._show_results)

    def show_guide(self, anchor: str | None = None):
        """The user guide, at ``anchor`` (a setting's paragraph: gui.help.setting_anchor)."""
        from workbench.gui.help import HelpWindow

        if getattr(self, "help_window", None) is None:
            self.help_window = HelpWindow(self)
        self.help_window.show_anchor(anchor)
        return self.help_window

    def _try_model(self, path: str) -> None:
        self.try_it.set_model(path)
        self.tabs.setCurrentWidget(self.try_it)

    # Dataset -----------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        start = self.folder_edit.text() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Choose image folder", start)
        if path:
            self.open_dataset(path)

    def open_dataset(self, path: str | Path) -> None:
        """Scan ``path`` off the GUI thread; ``datasetOpened`` fires when it is shown."""
        path = str(Path(path).expanduser())
        self.folder_edit.setText(path)
        self.form.set_data_dir(path)
        self.statusBar().showMessage(f"Scanning {path}…")
        self.dataset_tab.open_folder(path, self.form.config().max_image_megapixels)

    def _on_scanned(self, scan, error: str | None) -> None:
        self._show_sample_banner(scan)
        if scan is None:
            self.form.set_training_count(None)
            self.statusBar().showMessage(error)
            self._update_buttons(self.controller.running)
            self.datasetOpened.emit(None)
            return
        self.remembered.remember_folder(scan.root)
        self.form.set_folder_split(scan.presplit)
        self._fill_recent_menu()
        self._on_settings_changed()
        self.statusBar().showMessage(f"{scan.num_images} images in {len(scan.class_names)} classes: "
                                     f"{scan.root}")
        self.datasetOpened.emit(scan)

    def _show_sample_banner(self, scan) -> None:
        """Say so while the bundled sample data is open (a first launch opens it unasked)."""
        if scan is None or Path(scan.root).resolve() != sample_data_dir().resolve():
            self.sample_banner.hide()
            return
        counts = list(scan.class_counts().values())
        size = (f"{len(counts)} shapes × {counts[0]} images" if len(set(counts)) == 1
                else f"{scan.num_images} images of {len(counts)} shapes")
        self.sample_banner.setText(f"Sample data: {size} — open your own folder with Ctrl+O")
        self.sample_banner.show()

    def _on_settings_changed(self) -> None:
        count = self.dataset_tab.show_split(self.form.config())
        if count is not None:
            self.form.set_training_count(count)
        self.settings_panel.count_parameters(len(self.scan.class_names) if self.scan else 2)
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
        if not self.engine.load_now():  # the button waits for it; a shortcut or a test may not
            self.statusBar().showMessage(f"Cannot start: {self._start_blocker()}")
            return
        problems = self.form.problems()
        if self.scan is None:
            error = self.dataset_tab.error
            problems.insert(0, f"the image folder cannot be trained on: {error}"
                            if error else "open an image folder that can be trained on first")
        if problems:
            self.statusBar().showMessage("Cannot start: " + problems[0])
            return
        config = self.form.config()
        try:
            config.validate()
        except ConfigError as exc:
            self.statusBar().showMessage(str(exc))
            return
        self.save_settings()
        self.launch(config, scan=self.scan)

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
            self.launch(config, resume=run_dir)

    def launch(self, config: TrainConfig, resume: str | None = None, scan=None) -> None:
        self.summary = None
        self.last_error = None
        self.tabs.setCurrentWidget(self.training_tab)
        self.training_tab.start(config, processes=self.form.processes(),
                                runs_root=self.runs_view.runs_root(), scan=scan, resume=resume)
        self.statusBar().showMessage("Resuming…" if resume else "Training…")

    def stop_training(self) -> None:
        if self.controller.running:
            self.controller.stop()
            self.statusBar().showMessage("Stopping after the current batch…")

    def _show_results(self, summary: dict) -> None:
        self.results.show_summary(summary)
        self.tabs.setTabText(self.tabs.indexOf(self.results), "Results •")
        self.export_action.setEnabled(bool(summary.get("best_epoch")))

    def _on_run_ended(self, outcome: RunOutcome) -> None:
        if outcome.ends_with is not ev.RunEnd:
            return  # a study: StudyActions reports how it ended
        if outcome.failed:
            self.last_error = outcome.message
            self.statusBar().showMessage(f"Training failed: {outcome.message}")
            self._error_box = failure_dialog(self, outcome.error, self.retry_with_batch_size)
        else:
            self.summary = outcome.summary
            self.statusBar().showMessage(one_line_summary(outcome.summary))
        self.runFinished.emit(outcome.summary)

    def retry_with_batch_size(self, batch_size: int) -> None:
        """Start again with ``batch_size`` (the out-of-memory dialog's retry)."""
        self.form.batch_size.setValue(batch_size)
        self.start_training()

    def _defer_full_collections(self) -> None:
        """A full garbage collection stalls the window for ~250 ms: not while a run trains; and no
        collection at all while torch loads (they walk the objects the imports are making: 90–190 ms
        each, one after another; see gui/garbage.py)."""
        from PySide6.QtWidgets import QApplication

        collector = getattr(QApplication.instance(), "garbage_collector", None)
        if collector is not None:
            controller, engine = self.controller, self.engine
            collector.busy = lambda: controller.running
            collector.paused = engine.loading

    def _update_buttons(self, running: bool) -> None:
        blocked = None if running else self._start_blocker()
        self.settings_panel.set_running(running, blocked)
        self.start_action.setEnabled(not running and blocked is None)
        self.stop_action.setEnabled(running)
        self.find_lr_action.setEnabled(not running and self.engine.is_loaded)
        self.settings_panel.find_lr_button.setEnabled(not running and self.engine.is_loaded)

    def _start_blocker(self) -> str | None:
        """Why Start cannot be pressed now (shown in its tooltip), or None."""
        if self.engine.error:
            return f"PyTorch could not be loaded: {self.engine.error}"
        if not self.engine.is_loaded:
            return "loading PyTorch and the models…"
        if self.scan is None:
            error = self.dataset_tab.error
            return (f"the image folder cannot be trained on: {error}" if error
                    else "open an image folder first")
        problems = self.form.problems()
        return problems[0] if problems else None

    def showEvent(self, event) -> None:  # noqa: N802 — Qt override
        super().showEvent(event)
        if not self.engine.is_loaded:
            self.engine.start_when_idle()  # once the window is on screen and painted, not before

    def _on_engine_loaded(self, gpus: int) -> None:
        self.form.set_engine_loaded(gpus)
        self._on_settings_changed()  # counts the parameters and enables Start
        self._resume_views_waiting_for_the_engine()

    def _on_engine_failed(self, _message: str) -> None:
        self._update_buttons(self.controller.running)  # Start's tooltip says why
        self._resume_views_waiting_for_the_engine()  # they report the failed import themselves

    def _resume_views_waiting_for_the_engine(self) -> None:
        self.preview.resume()
        self.dataset_tab.audit.resume()

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

    def save_report(self, folder: str | None = None, out: str | None = None) -> bool:
        """Save the report of ``folder`` (default: this window's latest run); see ReportSaver."""
        return self.report_saver.save(folder or self.run_dir or "", out)

    # Settings persistence -----------------------------------------------------------------------
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.remembered.recent_folders()
        for folder in recent:
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.open_dataset(f))
        self.recent_menu.setEnabled(bool(recent))

    def _restore_settings(self) -> None:
        config = self.remembered.config()
        if config is not None:
            self.form.set_config(config)
        if self.remembered.geometry() is not None:
            self.restoreGeometry(self.remembered.geometry())
        if self.remembered.splitter() is not None:
            self.splitter.restoreState(self.remembered.splitter())
        self._fill_recent_menu()

    def save_settings(self) -> None:
        self.remembered.save(self.form.config(), self.saveGeometry(), self.splitter.saveState())

    def last_folder(self) -> str | None:
        return self.remembered.last_folder()

    def closeEvent(self, event) -> None:  # noqa: N802 — Qt override
        self.save_settings()
        self.engine.wait_for_background_load()  # closed within seconds of opening: let torch finish
        if self.controller.running:
            self.controller.stop()
            self.controller.wait(60_000)
        super().closeEvent(event)
