"""The Search tab: trials, sampler, pruner and the editable search space; the study's cost before
it starts; a live table of trials; the shown trial's curves; the optimisation history and the
settings' importances; **Use these settings** and **Open run**.

A thin view of a :class:`~workbench.study_session.SearchSession`; the window starts, stops and
resumes the search (its requests are this view's signals). Importances are computed on the thread
pool (Optuna's fANOVA takes a second or more), at each complete trial once there are two.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.common import action_button
from workbench.gui.offthread import LatestRequest, run_in_pool
from workbench.gui.plots import TrainingPlots
from workbench.gui.studies.search_plots import SearchPlots
from workbench.gui.studies.search_space_editor import PROBLEM_STYLE, SearchSpaceEditor
from workbench.session import format_duration
from workbench.study_session import SearchSession

INTRO = ("A search trains one run (a trial) per set of settings drawn from the search space below, "
         "the settings on the left being the fixed part, and keeps the trial whose best epoch scores "
         "best. Each trial reports after every epoch; the pruner stops unpromising ones early.")
FIXED_COLUMNS = ("Trial", "State", "Value", "Epochs", "Time")
STATE_TIPS = {"running": "Training now", "complete": "Trained its whole budget",
              "pruned": "Stopped early by the pruner: its curve was unpromising",
              "stopped": "Stopped by you after an epoch; Resume search continues it from there"}
_ROLE_NUMBER = Qt.ItemDataRole.UserRole


class SearchView(QWidget):
    startRequested = Signal(dict)  # {trials, sampler, pruner, space}
    stopRequested = Signal()
    resumeRequested = Signal(str)  # the study folder
    useSettingsRequested = Signal()
    openRunRequested = Signal(str)  # a trial's run folder
    optionsChanged = Signal()

    def __init__(self, session: SearchSession, parent=None):
        super().__init__(parent)
        self.setAccessibleName("Search")
        self.session = session
        self.studies_folder = ""  # where Resume's folder chooser starts (the runs folder's search/)
        self._busy = False
        self._form_problems: list[str] = []
        self._importance_request = LatestRequest()
        self._curve_request = LatestRequest()
        self._shown_trial: int | None = None  # the trial whose curves are drawn

        self.trials = QSpinBox()
        self.trials.setRange(1, 10_000)
        self.trials.setValue(20)
        self.trials.setAccessibleName("Trials")
        self.trials.setToolTip("How many trials to complete (pruned ones count; failed ones are replaced)")
        self.sampler = _combo("Sampler", "How the next trial's settings are drawn: TPE learns from the "
                              "trials so far; random draws blindly; grid tries every combination of "
                              "the grid values", (("TPE", "tpe"), ("Random", "random"), ("Grid", "grid")))
        self.pruner = _combo("Pruner", "Which trials stop early: median stops a trial whose epoch is worse "
                             "than the median of earlier trials at that epoch; Hyperband compares in "
                             "rounds; none trains every trial fully",
                             (("Median", "median"), ("Hyperband", "hyperband"), ("None", "none")))
        self.start_button = action_button("Start search", "Start search", "Search with the settings on "
                                          "the left as the fixed part", self._request_start)
        self.stop_button = action_button("Stop", "Stop search", "Stop once the trial in training has "
                                         "finished its epoch; everything is kept and Resume continues it",
                                         self.stopRequested)
        self.resume_button = action_button("Resume search…", "Resume search", "Continue a search study "
                                           "folder (the one stopped here, else choose one)",
                                           self._request_resume)
        self.start_problem = _label("Why the search cannot start", "")
        self.start_problem.setStyleSheet(PROBLEM_STYLE)
        self.estimate_label = _label("Search cost", "")
        self.status_label = _label("Search progress", "No search run in this window yet.")
        self.best_label = _label("Best trial", "")
        font = self.best_label.font()
        font.setBold(True)
        self.best_label.setFont(font)

        self.editor = SearchSpaceEditor()
        self.editor.changed.connect(self._update_start)
        self.sampler.currentIndexChanged.connect(
            lambda: self.editor.set_grid(self.sampler.currentData() == "grid"))
        for widget in (self.trials, self.sampler, self.pruner):
            signal = widget.valueChanged if isinstance(widget, QSpinBox) else widget.currentIndexChanged
            signal.connect(self.optionsChanged)
        self.table = QTableWidget(0, len(FIXED_COLUMNS))
        self.table.setAccessibleName("Trials")
        self.table.setToolTip("Every trial of the study; select one to see its curves")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.use_button = action_button("Use these settings", "Use these settings", "Load the best "
                                        "trial's settings into the form on the left",
                                        self.useSettingsRequested)
        self.open_button = action_button("Open run", "Open run", "Show the selected trial's run folder "
                                         "in the Runs view", self._request_open)
        self.curves = TrainingPlots(epoch_only=True)
        self.curves.setAccessibleName("Trial curves")
        self.plots = SearchPlots()
        self._layout()

        session.started.connect(self._on_started)
        session.opened.connect(self._on_opened)
        session.trial_started.connect(self._on_trial_started)
        session.trial_epoch.connect(self._on_trial_epoch)
        session.trial_ended.connect(self._on_trial_ended)
        session.finished.connect(self._on_finished)
        session.failed.connect(self._on_failed)
        self.set_busy(False)

    def _layout(self) -> None:
        controls = QHBoxLayout()
        for text, widget in (("Trials", self.trials), ("Sampler", self.sampler), ("Pruner", self.pruner)):
            controls.addWidget(QLabel(text))
            controls.addWidget(widget)
        for button in (self.start_button, self.stop_button, self.resume_button):
            controls.addWidget(button)
        controls.addWidget(self.start_problem, 1)
        space_box = QGroupBox("Search space")
        QVBoxLayout(space_box).addWidget(self.editor)
        trials_box = QGroupBox("Trials")
        column = QVBoxLayout(trials_box)
        column.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(space_box)
        upper.addWidget(trials_box)
        upper.setStretchFactor(1, 1)
        lower = QWidget()
        grid = QVBoxLayout(lower)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.curves)
        grid.addWidget(self.plots)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(upper)
        body.addWidget(lower)
        body.setStretchFactor(1, 1)
        body.setChildrenCollapsible(False)
        body.setSizes([300, 500])
        layout = QVBoxLayout(self)
        layout.addWidget(_label("About search", INTRO))
        layout.addLayout(controls)
        layout.addWidget(self.estimate_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.best_label)
        layout.addWidget(body, 1)

    # The window's calls -------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        """``busy``: a run or study is under way in the window (only a search's stops here)."""
        self._busy = busy
        for widget in (self.trials, self.sampler, self.pruner, self.editor, self.resume_button):
            widget.setEnabled(not busy)
        self.stop_button.setEnabled(busy and self.session.running)
        self._update_start()
        self._update_buttons()

    def set_form_problems(self, problems: list[str]) -> None:
        """What keeps the form's settings (the fixed part) from training, if anything."""
        self._form_problems = list(problems)
        self._update_start()

    def set_estimate(self, text: str) -> None:
        self.estimate_label.setText(text)

    def options(self) -> dict:
        """The search as set up here; raises ConfigError when the space is refused."""
        return {"trials": self.trials.value(), "sampler": self.sampler.currentData(),
                "pruner": self.pruner.currentData(), "space": self.editor.space()}

    def start_problems(self) -> list[str]:
        return self._form_problems + self.editor.problems()

    def selected_trial(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.session.trial_rows.get(self.table.item(rows[0].row(), 0).data(_ROLE_NUMBER))

    # Requests -----------------------------------------------------------------------------------
    def _request_start(self) -> None:
        if not self.start_problems():
            self.startRequested.emit(self.options())

    def _request_resume(self) -> None:
        if self.session.resumable() and self.session.out:
            self.resumeRequested.emit(self.session.out)
            return
        folder = QFileDialog.getExistingDirectory(self, "Choose a search study folder", self.studies_folder)
        if folder:
            self.resumeRequested.emit(folder)

    def _request_open(self) -> None:
        row = self.selected_trial()
        if row is not None and row.get("run_dir"):
            self.openRunRequested.emit(row["run_dir"])

    def _update_start(self) -> None:
        problems = self.start_problems()
        self.start_button.setEnabled(not self._busy and not problems)
        self.start_problem.setText("" if self._busy or not problems else "Cannot start: " + problems[0])
        self.start_problem.setToolTip("\n".join(problems))

    def _update_buttons(self) -> None:
        self.use_button.setEnabled(self.session.best() is not None and self.session.config is not None)
        row = self.selected_trial()
        self.open_button.setEnabled(row is not None and bool(row.get("run_dir"))
                                    and row["state"] != "running")

    # Session → widgets --------------------------------------------------------------------------
    def _on_started(self) -> None:
        self.table.setRowCount(0)
        self.curves.reset()
        self.plots.reset()
        self._shown_trial = None
        self._importance_request.cancel()
        self.best_label.setText("")
        self.status_label.setText("Opening the study and preparing the images…")

    def _on_opened(self, event) -> None:
        self.plots.set_monitor(event.monitor)
        self._show_rows()
        self._refresh_importances()

    def _on_trial_started(self, row: dict) -> None:
        self._show_rows()
        if self.selected_trial() is None or self.selected_trial()["number"] == self._shown_trial:
            self._show_curves(row["number"])
        self._show_status()

    def _on_trial_epoch(self, row: dict, history: list[dict]) -> None:
        self._show_rows()
        if self._shown_trial == row["number"]:
            self.curves.show_history(history)
        self._show_status()

    def _on_trial_ended(self, row: dict) -> None:
        self._show_rows()
        if row["state"] == "complete":
            self._refresh_importances()
        self._show_status()

    def _on_finished(self, summary: dict) -> None:
        from workbench.studies.search import describe

        self._show_rows()
        self._refresh_importances()
        asked, done = summary.get("trials_asked", 0), summary.get("complete", 0) + summary.get("pruned", 0)
        how = ("Finished" if done >= asked else
               f"Stopped after {done} of {asked} trials; Resume search continues it")
        self.status_label.setText(f"{how}. Study folder: {self.session.out}")
        self.best_label.setText(describe(summary))
        self._update_buttons()

    def _on_failed(self, error) -> None:
        self._show_rows()
        self.status_label.setText(f"The search failed: {error.message}")

    def _show_status(self) -> None:
        s = self.session
        done = s.count("complete") + s.count("pruned")
        current = s.trial_rows.get(s.current) if s.current is not None else None
        text = f"{done} of {s.trials} trials done ({s.count('pruned')} pruned, {s.count('failed')} failed)"
        if current is not None:
            text += f"; trial {current['number']} training, epoch {current['epochs']} of {s.epochs}"
        eta = s.eta()
        if eta is not None:
            text += f" — at most about {format_duration(eta)} left"
        self.status_label.setText(text)
        best = s.best()
        if best is not None:
            settings = ", ".join(f"{k}={_short(v)}" for k, v in best["params"].items())
            self.best_label.setText(f"Best so far: trial {best['number']}, {s.monitor} "
                                    f"{best['value']:.4g} with {settings}")
        self._update_buttons()

    def _show_rows(self) -> None:
        rows = self.session.rows()
        names = list(dict.fromkeys(k for row in rows for k in row["params"]))
        selected = self.selected_trial()
        table = self.table
        table.blockSignals(True)
        table.setColumnCount(len(FIXED_COLUMNS) + len(names))
        table.setHorizontalHeaderLabels([*FIXED_COLUMNS, *names])
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            value = row["value"]
            cells = [str(row["number"]), row["state"], "—" if value is None else f"{value:.4g}",
                     str(row["epochs"] or 0), format_duration(row["seconds"])]
            cells += ["" if name not in row["params"] else _short(row["params"][name]) for name in names]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(_ROLE_NUMBER, row["number"])
                if c == 1:
                    item.setToolTip(row.get("error") or STATE_TIPS.get(row["state"], ""))
                elif c != 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
            if selected is not None and row["number"] == selected["number"]:
                table.selectRow(r)
        table.blockSignals(False)
        self.plots.show_history(*self.session.history_points())
        self._update_buttons()

    def _on_selection(self) -> None:
        row = self.selected_trial()
        if row is not None:
            self._show_curves(row["number"])
        self._update_buttons()

    def _show_curves(self, number: int) -> None:
        """Draw one trial's epochs: from this window's events, else read from its run folder."""
        self._shown_trial = number
        history = self.session.histories.get(number)
        run_dir = self.session.trial_rows[number].get("run_dir")
        if history is not None or not run_dir:
            self._curve_request.cancel()
            self.curves.show_history(history or [])
            return
        from workbench.runs import RunFolder

        run_in_pool(lambda: RunFolder(Path(run_dir)).read_metrics(), self.curves.show_history, None,
                    owner=self, wanted=self._curve_request.next())

    def _refresh_importances(self) -> None:
        """Optuna's importances of the study, off the GUI thread, once two trials are complete."""
        storage = self.session.storage
        if storage is None or self.session.count("complete") < 2:
            return
        from workbench.studies.search import param_importances

        run_in_pool(lambda: param_importances(storage), self.plots.show_importances,
                    lambda message: self.plots.importance_plot.setTitle(f"Setting importance: {message}"),
                    owner=self, wanted=self._importance_request.next())


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _combo(name: str, tip: str, items) -> QComboBox:
    combo = QComboBox()
    combo.setAccessibleName(name)
    combo.setToolTip(tip)
    for text, data in items:
        combo.addItem(text, data)
    return combo


def _label(name: str, text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
