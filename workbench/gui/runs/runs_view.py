"""The Runs view: every run under the runs folder, each one reopened exactly as it ended.

Lists :func:`workbench.runs.list_runs`; selecting one run shows its curves, results and config
with the same widgets the window uses for a live run (:class:`TrainingPlots`, :class:`ResultsView`);
selecting several overlays their validation curves. Re-run, resume, try, export and delete act on
the selected run. Folders are read on the thread pool; the GUI thread only draws.

A run with damaged files is listed like any other, its Note column saying what is damaged; names
from the files are shown through :func:`workbench.safe_text.printable`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QThreadPool, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.config import ConfigError, TrainConfig
from workbench.gui.common import action_button
from workbench.gui.offthread import run_in_pool
from workbench.gui.runs.run_details import RunDetails
from workbench.runs import RunFolder, RunInfo, default_runs_root, delete_run, list_runs, read_json_object
from workbench.safe_text import printable

COLUMNS = ("Run", "Started", "Model", "Dataset", "Epochs", "Best", "Status", "Note")
RESUMABLE = ("stopped", "incomplete")
_ROLE_PATH = Qt.ItemDataRole.UserRole
_LIST, _OPEN, _COMPARE, _DELETE = range(4)  # what a pool task was for


def read_past_run(path: str | Path) -> dict:
    """A run folder's files as plain values: config dict, metrics rows, summary dict (or None).

    Damaged files read as empty (config {}, summary None, damaged metrics rows left out)."""
    run = RunFolder(path)
    summary = read_json_object(run.summary_path)[0] or None if run.summary_path.is_file() else None
    return {"path": str(run.path), "config": read_json_object(run.config_path)[0],
            "history": run.read_metrics(), "summary": summary}


def _best_text(info: RunInfo) -> str:
    if info.best_value is None:
        return "—"
    if info.best_metric == "val_accuracy":
        return f"val_accuracy {info.best_value:.1%}"
    return f"{info.best_metric} {info.best_value:.4f}"


class RunsView(QWidget):
    """Run history; ``settings`` holds the runs folder (key ``runs_dir``) training writes into."""

    runsListed = Signal(list)  # the RunInfo list now shown
    runOpened = Signal(object)  # read_past_run()'s dict of the run now shown
    runsCompared = Signal(list)  # names of the overlaid runs
    runsDeleted = Signal(list)  # paths removed
    rerunRequested = Signal(object)  # TrainConfig of the selected run
    resumeRequested = Signal(str, object)  # run folder, its TrainConfig
    tryRequested = Signal(str)  # run folder to try on images
    exportRequested = Signal(str)  # run folder to export
    reportRequested = Signal(str)  # run folder to save a report of
    runsRootChanged = Signal(str)

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Runs")
        self.settings = settings
        self.runs: list[RunInfo] = []
        self.current: dict | None = None  # read_past_run() of the run on show
        self._active_run: str | None = None  # the run training writes right now
        self._training = False
        self._stale = False  # a refresh waits for the tab to be shown
        self._study_folder: str | None = None  # listed instead of the runs folder (a search's trials)
        self._select_when_listed: list[str] = []
        self._requests = dict.fromkeys((_LIST, _OPEN, _COMPARE, _DELETE), 0)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._kinds: dict[int, int] = {}  # request id → what it was for
        self._next_request = 0
        self._build()
        self._update_buttons()

    # Construction -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.root_label = QLabel()
        self.root_label.setAccessibleName("Runs folder")
        self.root_label.setToolTip("Where new runs are saved and where this list looks for them")
        self.root_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.change_root_button = action_button("Change…", "Change runs folder", "Choose the folder new runs "
                                                "are saved in and listed from", self.choose_runs_root)
        refresh = action_button("Refresh", "Refresh runs", "Read the runs folder again", self.refresh)
        self.back_button = action_button("Back to runs folder", "Back to runs folder", "List the runs "
                                         "folder again instead of the study's runs", self.list_runs_root)
        self.folder_title = QLabel("Runs folder:")
        top = QHBoxLayout()
        top.addWidget(self.folder_title)
        top.addWidget(self.root_label, 1)
        top.addWidget(self.back_button)
        top.addWidget(self.change_root_button)
        top.addWidget(refresh)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Run list")
        self.table.setToolTip("Past runs, newest first. Select one to see it; Ctrl- or Shift-click "
                              "several to compare their curves.")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_selection)
        QShortcut(QKeySequence.StandardKey.Delete, self.table, self.delete_selected)
        # Run folders live in a hidden user-data folder: their paths can be copied (right-click, Ctrl+C).
        self.copy_path_action = QAction("Copy path", self.table, shortcut=QKeySequence.StandardKey.Copy)
        self.copy_path_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_path_action.triggered.connect(self.copy_selected_paths)
        self.table.addAction(self.copy_path_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        self.rerun_button = action_button("Re-run", "Re-run", "Train again with this run's settings and "
                                          "image folder (loads them into the settings form)", self._rerun)
        self.resume_button = action_button("Resume", "Resume run", "Continue this stopped or unfinished run "
                                           "from its last checkpoint", self._resume)
        self.try_button = action_button("Try it…", "Try this run", "Classify new images with this run's "
                                        "best weights", lambda: self._emit_path(self.tryRequested))
        self.export_button = action_button("Export…", "Export this run", "Save this run's model as .pt, "
                                           "safetensors, TorchScript or ONNX",
                                           lambda: self._emit_path(self.exportRequested))
        self.report_button = action_button("Report…", "Save a report of this run", "Save one HTML file with "
                                           "this run's settings, data, curves, errors and environment",
                                           lambda: self._emit_path(self.reportRequested))
        self.delete_button = action_button("Delete…", "Delete runs", "Delete the selected run folders "
                                           "(asks first; Del key)", self.delete_selected)
        buttons = QHBoxLayout()
        for button in (self.rerun_button, self.resume_button, self.try_button, self.export_button,
                       self.report_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)

        self.details = RunDetails()
        upper = QWidget()
        column = QVBoxLayout(upper)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(top)
        column.addWidget(self.table, 1)
        column.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._show_root()

    # Runs folder ------------------------------------------------------------------------------
    def runs_root(self) -> str:
        """The folder runs are saved in and listed from (the ``runs_dir`` setting)."""
        return str(self.settings.value("runs_dir", str(default_runs_root())))

    def set_runs_root(self, path: str | Path) -> None:
        """Save runs in ``path`` from now on (remembered in the settings) and list it."""
        self.settings.setValue("runs_dir", str(Path(path).expanduser()))
        self.settings.sync()
        self._study_folder = None
        self._show_root()
        self.runsRootChanged.emit(self.runs_root())
        self.refresh()

    def choose_runs_root(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose the runs folder", self.runs_root())
        if path:
            self.set_runs_root(path)

    def listed_folder(self) -> str:
        """The folder the list shows: the runs folder, or a study's (see :meth:`list_folder`)."""
        return self._study_folder or self.runs_root()

    def list_folder(self, path: str | Path, select: str | Path | None = None) -> None:
        """List the runs of a study folder (a search's trials) instead of the runs folder, and
        select ``select`` once listed; **Back to runs folder** returns. New runs still go to the
        runs folder."""
        self._study_folder = str(path)
        self._select_when_listed = [str(select)] if select else []
        self.refresh()

    def list_runs_root(self) -> None:
        self._study_folder = None
        self._select_when_listed = []
        self.refresh()

    def _show_root(self) -> None:
        studying = self._study_folder is not None
        self.folder_title.setText("Study folder:" if studying else "Runs folder:")
        self.root_label.setText(self.listed_folder())
        self.back_button.setVisible(studying)

    # Listing ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """List the runs folder again (off the GUI thread); ``runsListed`` fires when shown."""
        root = self.listed_folder()
        self._show_root()  # the setting may have been changed elsewhere since
        self._start(_LIST, lambda: list_runs(root))

    def _show_runs(self, runs: list[RunInfo]) -> None:
        selected = set(self.selected_paths())
        self.runs = runs
        table = self.table
        table.blockSignals(True)
        table.clearSelection()
        table.setRowCount(len(runs))
        for row, info in enumerate(runs):
            status = "running" if str(info.path) == self._active_run else info.status
            cells = (info.name, info.created.strftime("%Y-%m-%d %H:%M"), info.model,
                     Path(info.dataset).name or info.dataset, str(info.epochs_run), _best_text(info), status,
                     info.note)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(printable(text))
                item.setData(_ROLE_PATH, str(info.path))
                if col == 3:
                    item.setToolTip(printable(info.dataset))
                elif col == 0:
                    item.setToolTip(printable(info.path))
                elif col == 7 and info.note:
                    item.setToolTip(printable(info.note))
                if col == 4:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, col, item)
            if str(info.path) in selected:
                table.selectRow(row)
        table.blockSignals(False)
        if not runs:
            self.details.title.setText(f"No runs in {self.listed_folder()} yet: train a model, or choose "
                                   "another runs folder.")
        elif self.current and self.current["path"] not in {str(r.path) for r in runs}:
            self._clear_details()
        if runs and self.current is None and not self.selected_paths():
            # Replaces "No runs … yet" (or a listing error) once there are runs to pick from.
            self.details.title.setText(f"{len(runs)} run{'s' if len(runs) != 1 else ''} in "
                                       f"{printable(self.runs_root())}: select one to see it, "
                                       "several to compare them.")
        self._update_buttons()
        if self._select_when_listed:
            wanted, self._select_when_listed = self._select_when_listed, []
            self.select_runs(wanted)
        self.runsListed.emit(runs)

    def copy_selected_paths(self) -> str:
        """Put the selected runs' folders on the clipboard, one per line; what was copied."""
        text = "\n".join(self.selected_paths())
        if text:
            QGuiApplication.clipboard().setText(text)
        return text

    # Selection, opening and comparing -------------------------------------------------------
    def selected_paths(self) -> list[str]:
        """Folders of the selected runs, in list order."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.table.item(row, 0).data(_ROLE_PATH) for row in rows]

    def select_runs(self, paths: list[str | Path]) -> None:
        """Select these runs as a user would (one opens it, several compare them)."""
        wanted = {str(p) for p in paths}
        self.table.blockSignals(True)
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(_ROLE_PATH) in wanted:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)
        self.table.blockSignals(False)
        self._on_selection()

    def _on_selection(self) -> None:
        paths = self.selected_paths()
        if len(paths) == 1:
            self.open_run(paths[0])
        elif len(paths) > 1:
            self._start(_COMPARE, lambda: [(Path(p).name, RunFolder(p).read_metrics()) for p in paths])
        self._update_buttons()

    def open_run(self, path: str | Path) -> None:
        """Show one past run (read off the GUI thread); ``runOpened`` fires when it is shown."""
        self.details.title.setText(f"Loading {Path(path).name}…")
        self._start(_OPEN, lambda: read_past_run(path))

    def _show_run(self, run: dict) -> None:
        self.current = run
        try:
            self.details.show_run(run)
        except Exception as exc:  # noqa: BLE001 — values of the wrong type in a hand-edited summary.json
            self.details.show_run({**run, "summary": None})
            self.details.title.setText(f"{printable(Path(run['path']).name)}: summary.json is damaged "
                                       f"and is not shown ({printable(exc)})")
        self._update_buttons()
        self.runOpened.emit(run)

    def _show_comparison(self, runs: list[tuple[str, list[dict]]]) -> None:
        self.details.show_comparison(runs)
        self.runsCompared.emit([name for name, _ in runs])

    def _clear_details(self) -> None:
        self.current = None
        self.details.clear()

    # Actions ------------------------------------------------------------------------------------
    def _selected_info(self) -> RunInfo | None:
        paths = self.selected_paths()
        if len(paths) != 1:
            return None
        return next((r for r in self.runs if str(r.path) == paths[0]), None)

    def _current_config(self) -> TrainConfig | None:
        info = self._selected_info()
        if info is None or self.current is None or self.current["path"] != str(info.path):
            return None
        try:
            return TrainConfig.from_dict(self.current["config"])
        except (ConfigError, TypeError, ValueError) as exc:
            QMessageBox.warning(self, "Cannot use these settings",
                                f"The run's config.json cannot be read by this version: {exc}")
            return None

    def _rerun(self) -> None:
        config = self._current_config()
        if config is not None:
            self.rerunRequested.emit(config)

    def _resume(self) -> None:
        config = self._current_config()
        if config is not None:
            self.resumeRequested.emit(self.current["path"], config)

    def _emit_path(self, signal) -> None:
        info = self._selected_info()
        if info is not None:
            signal.emit(str(info.path))

    def delete_selected(self) -> None:
        """Delete the selected run folders after the user confirms; the list refreshes after."""
        paths = [p for p in self.selected_paths() if p != self._active_run]
        if not paths:
            return
        names = "\n".join(Path(p).name for p in paths)
        what = "this run" if len(paths) == 1 else f"these {len(paths)} runs"
        answer = QMessageBox.question(
            self, "Delete runs", f"Delete {what} with all its files (checkpoints, metrics, logs)?\n\n"
            f"{names}\n\nThis cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return

        def remove() -> list[str]:
            for path in paths:
                delete_run(path)
            return paths

        self._start(_DELETE, remove)

    # Training in the window ---------------------------------------------------------------------
    def run_started(self, run_dir: str) -> None:
        """The window's run has started: it appears in the list at once."""
        self._active_run = str(run_dir)
        if self._study_folder and Path(run_dir).parent != Path(self._study_folder):
            self._study_folder = None  # a run outside the study listed: back to the runs folder
        self._refresh_when_shown()

    def set_training(self, running: bool) -> None:
        """While the window trains, re-run and resume wait and the run in progress cannot be
        deleted; when training ends (finished, stopped or failed) the list is read again."""
        self._training = running
        if not running and self._active_run:
            # The run has ended and its thread is done: list it with its final status.
            self._active_run = None
            self._refresh_when_shown()
        self._update_buttons()

    def _refresh_when_shown(self) -> None:
        """Refresh now if the tab is on screen, else when it is shown: listing and filling the
        table of a large runs folder just as a run starts would stall the window."""
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802 — Qt's name
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.refresh()

    def _update_buttons(self) -> None:
        info = self._selected_info()
        shown = info is not None and self.current is not None and self.current["path"] == str(info.path)
        has_weights = info is not None and info.epochs_run > 0
        self.rerun_button.setEnabled(shown and not self._training)
        self.resume_button.setEnabled(shown and not self._training and info.status in RESUMABLE)
        self.try_button.setEnabled(has_weights)
        self.export_button.setEnabled(has_weights)
        self.report_button.setEnabled(info is not None)
        deletable = [p for p in self.selected_paths() if p != self._active_run]
        self.delete_button.setEnabled(bool(deletable))

    # Pool plumbing ------------------------------------------------------------------------------
    def _start(self, kind: int, fn) -> None:
        self._next_request += 1
        self._requests[kind] = self._next_request
        self._kinds[self._next_request] = kind
        request = self._next_request
        run_in_pool(fn, lambda result: self._on_done(request, result, None),
                    lambda error: self._on_done(request, None, error), owner=self, pool=self._pool)

    def _on_done(self, request: int, result, error) -> None:
        kind = self._kinds.pop(request)
        if request != self._requests[kind]:
            return  # replaced by a newer request of the same kind
        if kind == _DELETE:
            if error:
                QMessageBox.warning(self, "Could not delete", error)
            else:
                self.runsDeleted.emit(result)
            self.refresh()
        elif error:
            self.details.title.setText(f"Could not read the runs: {error}" if kind == _LIST
                                   else f"Could not read this run: {error}")
        elif kind == _LIST:
            self._show_runs(result)
        elif kind == _OPEN:
            if self.selected_paths() in ([], [result["path"]]):  # else the selection moved on
                self._show_run(result)
        else:
            self._show_comparison(result)
