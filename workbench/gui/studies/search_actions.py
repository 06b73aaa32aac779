"""The window's search: start, stop and resume it, state its cost, use its best settings, open a trial.

Like the other studies (:mod:`workbench.gui.studies.actions`), the search is a
:class:`~workbench.gui.training.thread_run.ThreadTrainingRun` whose job is the engine's
:class:`~workbench.studies.search.Search`, started through the window's one controller; its
events feed the Qt-free :class:`~workbench.study_session.SearchSession` the Search tab draws.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject

from workbench.config import ConfigError
from workbench.engine import events as ev
from workbench.gui.studies.search_view import SearchView
from workbench.gui.training.run import RunOutcome
from workbench.gui.training.thread_run import ThreadTrainingRun
from workbench.session import format_duration
from workbench.study_session import SearchSession


class SearchActions(QObject):
    """Owns the search session and the Search tab (``view``); ``studies`` is the window's StudyActions."""

    def __init__(self, studies):
        super().__init__(studies)
        self.studies = studies
        self.window = window = studies.window
        self.session = SearchSession()
        self.view = SearchView(self.session)
        self._searching = False
        window.controller.event.connect(self._follow)
        window.controller.ended.connect(self._on_ended)
        window.controller.runningChanged.connect(self.view.set_busy)
        window.datasetOpened.connect(lambda _scan: self.update_estimate())
        self.view.startRequested.connect(self.start_search)
        self.view.stopRequested.connect(window.stop_training)
        self.view.resumeRequested.connect(self.resume_search)
        self.view.useSettingsRequested.connect(self.use_best_settings)
        self.view.openRunRequested.connect(self.open_trial_run)
        self.view.optionsChanged.connect(self.update_estimate)
        self.update_estimate()

    def start_search(self, options: dict) -> None:
        """A new study of the form's settings in a new folder under the runs folder's ``search/``."""
        config = self.studies._startable_config()
        if config is None:
            return
        out = str(self._studies_folder() / time.strftime("%Y%m%d-%H%M%S"))
        self._start(lambda: _search(config, out, **options), out, options["trials"], config.epochs,
                    "Starting a search…")

    def resume_search(self, out: str) -> None:
        """Continue a search study folder up to its number of trials; a stopped trial continues."""
        if self.window.controller.running or not out:
            return
        self._start(lambda: _search(None, out, resume=True), out, 0, 0, f"Resuming the search in {out}…")

    def _start(self, make_job, out: str, trials: int, epochs: int, message: str) -> None:
        self.session.begin(trials, epochs, out)
        self.window.tabs.setCurrentWidget(self.view)
        self._searching = True
        self.window.training_tab.start_study(ThreadTrainingRun(make_job, ends_with=ev.StudyEnd), live=True)
        self.window.statusBar().showMessage(message)

    def use_best_settings(self) -> None:
        """Load the best trial's settings (the fixed ones with its drawn values) into the form."""
        try:
            config = self.session.best_config()
        except ConfigError as exc:
            self.window.statusBar().showMessage(f"Cannot use the best trial's settings: {exc}")
            return
        if config is None:
            return
        self.window.form.set_config(config)
        self.window.form.changed.emit()
        best = self.session.best()
        self.window.statusBar().showMessage(f"Settings of trial {best['number']} ({self.session.monitor} "
                                            f"{best['value']:.4g}) loaded into the form.")

    def open_trial_run(self, run_dir: str) -> None:
        """Show the trial in the Runs view, which lists its study folder (the trials side by side)."""
        runs = self.window.runs_view
        runs.list_folder(str(Path(run_dir).parent), select=run_dir)
        self.window.tabs.setCurrentWidget(runs)

    def update_estimate(self) -> None:
        """The search's cost before it starts: trials × epochs at the last run's measured pace."""
        window, view = self.window, self.view
        view.studies_folder = str(self._studies_folder())
        view.set_form_problems(self._form_problems())
        if self.session.running or window.scan is None:
            return
        from workbench.data.prepare import split_samples

        config, trials = window.form.config(), view.trials.value()
        what = f"{trials} trials × up to {config.epochs} epochs"
        pace = self.studies.pace
        if pace is None or (pace.model, pace.image_size) != (config.model, config.image_size):
            view.set_estimate(f"{what}: the search's time will be known after its first epoch (no run of "
                              "this model at this image size in this window yet).")
            return
        try:
            train, val = split_samples(window.scan, config)
        except (ValueError, ConfigError):
            return
        images = len(train) + len(val)
        seconds = pace.study_seconds(images, trials, config.epochs)
        view.set_estimate(f"{what} on {images} images ≈ {format_duration(seconds)} at most, at this "
                          f"machine's pace in the last run ({seconds / trials / config.epochs:.1f} s per "
                          "epoch); pruned trials end sooner.")

    def _form_problems(self) -> list[str]:
        window = self.window
        problems = window.form.problems()
        if window.scan is None:
            problems.insert(0, "open an image folder that can be trained on first")
        return problems

    def _studies_folder(self) -> Path:
        return Path(self.window.runs_view.runs_root()) / "search"

    def _follow(self, event: ev.Event) -> None:
        if self._searching:
            self.session.handle(event)

    def _on_ended(self, outcome: RunOutcome) -> None:
        if not self._searching:
            return
        self._searching = False
        bar = self.window.statusBar()
        if outcome.failed:
            bar.showMessage(f"Search failed: {outcome.message}")
        else:
            from workbench.studies.search import describe

            bar.showMessage(describe(outcome.summary))
        self.view.set_busy(False)
        self.update_estimate()


def _search(config, out: str, **options):
    """The job: made on the worker thread (opening the study touches the disk)."""
    from workbench.studies.search import Search

    return Search(config, out, **options)
