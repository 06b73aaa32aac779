"""The window's studies: find a learning rate, cross-validate, train the final model, search
(:mod:`workbench.gui.studies.search_actions`).

Each study is a :class:`~workbench.gui.training.thread_run.ThreadTrainingRun` whose job is the
engine's study object, started through the window's one controller (so Start, Stop and the
one-run-at-a-time rule apply to it as to any run). Their events feed the Qt-free study sessions
the dialog and the Cross-validation tab draw.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt

from workbench.config import ConfigError, TrainConfig
from workbench.engine import events as ev
from workbench.gui.studies.cross_validation_view import CrossValidationView
from workbench.gui.studies.lr_finder import LRFinderDialog
from workbench.gui.training.run import RunOutcome
from workbench.gui.training.thread_run import ThreadTrainingRun
from workbench.session import format_duration
from workbench.study_session import CrossValidationSession, Pace, SweepSession


class StudyActions(QObject):
    """Owns the study sessions, the Cross-validation tab (``view``) and the search (``search``, whose
    ``search.view`` is the Search tab); ``window`` is the MainWindow."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.sweep = SweepSession()
        self.study = CrossValidationSession()
        self.view = CrossValidationView(self.study)
        self.dialog: LRFinderDialog | None = None
        self.pace: Pace | None = None  # of the last run trained in this window
        self._sweeping = self._validating = False
        controller = window.controller
        controller.event.connect(self._follow)
        controller.ended.connect(self._on_ended)
        controller.runningChanged.connect(self.view.set_busy)
        window.session.signals.finished.connect(self._remember_pace)
        self.view.startRequested.connect(self.cross_validate)
        self.view.stopRequested.connect(window.stop_training)
        self.view.resumeRequested.connect(self.resume_study)
        self.view.trainFinalRequested.connect(self.train_final_model)
        self.view.foldsChanged.connect(lambda _folds: self.update_estimate())
        from workbench.gui.studies.search_actions import SearchActions

        self.search = SearchActions(self)

    # Learning-rate finder ------------------------------------------------------------------------
    def find_learning_rate(self) -> LRFinderDialog | None:
        """Sweep the learning rate with the form's settings; the dialog shows it."""
        config = self._startable_config()
        if config is None:
            return None
        from workbench.studies.lr_find import LearningRateFinder

        runs_root, scan = self.window.runs_view.runs_root(), self.window.scan
        if self.dialog is not None:
            self.dialog.close()
        self.sweep.begin()
        self.dialog = dialog = LRFinderDialog(self.sweep, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.lrChosen.connect(self._use_learning_rate)
        dialog.stopRequested.connect(self.window.stop_training)
        dialog.destroyed.connect(lambda: setattr(self, "dialog", None))
        run = ThreadTrainingRun(lambda: LearningRateFinder(config, runs_root=runs_root, scan=scan),
                                ends_with=ev.LRFindEnd)
        self._sweeping = True
        self.window.training_tab.start_study(run, live=False)
        self.window.statusBar().showMessage("Sweeping the learning rate…")
        dialog.show()
        return dialog

    def _use_learning_rate(self, lr: float) -> None:
        self.window.form.lr.setValue(lr)
        self.window.statusBar().showMessage(f"Learning rate set to {lr:.2g} from the sweep.")

    # Cross-validation -----------------------------------------------------------------------------
    def cross_validate(self, folds: int) -> None:
        """A new study of the form's settings in a new folder under the runs folder's ``cv/``."""
        config = self._startable_config()
        if config is None:
            return
        out = str(Path(self.window.runs_view.runs_root()) / "cv" / time.strftime("%Y%m%d-%H%M%S"))
        self._start_study(config, out, folds, resume=False)

    def resume_study(self, out: str) -> None:
        """Continue a stopped study in its folder: finished folds are kept."""
        summary = self.study.summary or {}
        if self.window.controller.running or not out:
            return
        config = TrainConfig.from_dict(summary.get("config") or {})
        self._start_study(config, out, int(summary.get("folds") or 0), resume=True)

    def _start_study(self, config: TrainConfig, out: str, folds: int, resume: bool) -> None:
        from workbench.studies.cross_validation import CrossValidation

        self.study.begin(folds, config.epochs, out)
        self._validating = True
        self.window.tabs.setCurrentWidget(self.view)
        run = ThreadTrainingRun(lambda: CrossValidation(config, out, folds, resume=resume),
                                ends_with=ev.StudyEnd)
        self.window.training_tab.start_study(run, live=True)
        self.window.statusBar().showMessage(f"{'Resuming' if resume else 'Starting'} a {folds}-fold "
                                            "cross-validation…")

    def train_final_model(self, summary: dict) -> None:
        """One ordinary run with the study's settings on every training and validation image (no
        validation split, no early stopping) for the recommended epochs; a test set stays out."""
        finished = summary.get("complete") and summary.get("recommended_epochs")
        if self.window.controller.running or not finished:
            return
        config = dataclasses.replace(TrainConfig.from_dict(summary["config"]), val_fraction=0.0,
                                     early_stopping=False, epochs=int(summary["recommended_epochs"]))
        try:
            config.validate()
        except ConfigError as exc:
            self.window.statusBar().showMessage(f"Cannot train the final model: {exc}")
            return
        scan = self.window.scan
        self.window.launch(config, scan=scan if scan is not None and scan.root == config.data_dir else None)
        self.window.statusBar().showMessage(f"Training the final model: {config.epochs} epochs on every "
                                            "image outside the test set…")

    def update_estimate(self) -> None:
        """The study's wall time before it starts: K × one run at the last run's measured pace
        (and the search's, from the same pace)."""
        if hasattr(self, "search"):
            self.search.update_estimate()
        window, folds = self.window, self.view.folds.value()
        if self.study.running or window.scan is None:
            self.view.set_estimate("" if window.scan is None else self.view.estimate_label.text())
            return
        from workbench.data.prepare import split_samples

        config = window.form.config()
        pace = self.pace
        if pace is None or (pace.model, pace.image_size) != (config.model, config.image_size):
            self.view.set_estimate(f"{folds} folds × {config.epochs} epochs: the study's time will be "
                                   "known after its first epoch (no run of this model at this image size "
                                   "in this window yet).")
            return
        try:
            train, val = split_samples(window.scan, config)
        except (ValueError, ConfigError):
            return
        seconds = pace.study_seconds(len(train) + len(val), folds, config.epochs)
        self.view.set_estimate(f"About {format_duration(seconds)}: {folds} folds × {config.epochs} epochs "
                               f"on {len(train) + len(val)} images at the last run's measured pace "
                               f"({seconds / folds / config.epochs:.1f} s per epoch).")

    # Events and outcomes --------------------------------------------------------------------------
    def _startable_config(self) -> TrainConfig | None:
        window = self.window
        if window.controller.running:
            return None
        problems = window.form.problems()
        if window.scan is None:
            problems.insert(0, "open an image folder that can be trained on first")
        if problems:
            window.statusBar().showMessage("Cannot start: " + problems[0])
            return None
        window.save_settings()
        return window.form.config()

    def _follow(self, event: ev.Event) -> None:
        if self._sweeping:
            self.sweep.handle(event)
        self.study.handle(event)

    def _on_ended(self, outcome: RunOutcome) -> None:
        bar = self.window.statusBar()
        if outcome.ends_with is ev.LRFindEnd:
            self._sweeping = False
            result = self.sweep.result
            bar.showMessage(outcome.message if outcome.failed else result.describe() if result else "")
        elif outcome.ends_with is ev.StudyEnd and self._validating:
            self._validating = False
            if outcome.failed:
                bar.showMessage(f"Cross-validation failed: {outcome.message}")
            else:
                from workbench.studies.cross_validation import describe

                bar.showMessage(describe(outcome.summary))
            self.update_estimate()

    def _remember_pace(self, _summary: dict) -> None:
        session = self.window.session
        if session.start is not None:
            pace = Pace.of_run(session.start, session.history, self.window.form.config().image_size)
            self.pace = pace or self.pace
        self.update_estimate()
