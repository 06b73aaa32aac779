"""One past run shown again, or several compared: the lower half of the Runs view.

The same widgets as a live run (:class:`TrainingPlots`, :class:`ResultsView`) filled from the
run's files, so a reopened run looks exactly as it did when it ended.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QTabWidget, QVBoxLayout, QWidget

from workbench.gui.common import bold_label
from workbench.gui.plots import RunComparisonPlots, TrainingPlots
from workbench.gui.results.view import ResultsView


class RunDetails(QWidget):
    """Tabs Curves, Results, Settings (config.json) and Compare, under a one-line title."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = bold_label("")
        self.title.setWordWrap(True)
        self.title.setAccessibleName("Selected run")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plots = TrainingPlots(epoch_only=True)
        self.results = ResultsView()
        self.config_text = QPlainTextEdit()
        self.config_text.setReadOnly(True)
        self.config_text.setAccessibleName("Run configuration")
        self.config_text.setToolTip("The run's config.json: every setting it was trained with")
        self.compare = RunComparisonPlots()
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Run details")
        self.tabs.addTab(self.plots, "Curves")
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.config_text, "Settings")
        self.tabs.addTab(self.compare, "Compare")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.tabs, 1)

    def show_run(self, run: dict) -> None:
        """Show :func:`~workbench.gui.runs.runs_view.read_past_run`'s dict: curves, results, settings."""
        summary, name = run["summary"], Path(run["path"]).name
        self.config_text.setPlainText(json.dumps(run["config"], indent=2))
        if summary:
            stopped_early = str(summary.get("stop_reason", "")).startswith("stopped early")
            self.plots.show_history(run["history"], summary.get("best_epoch"),
                                    summary.get("stopped_epoch") if stopped_early else None)
            self.results.show_summary({**summary, "run_dir": run["path"]})  # where it is now, if moved
            self.title.setText(f"{name}: {summary.get('status', 'incomplete')}, "
                               f"{summary.get('stop_reason') or 'no reason recorded'}")
        else:
            self.plots.show_history(run["history"])
            self.results.clear()
            self.title.setText(f"{name}: no summary.json (the run was interrupted before its first "
                               "epoch ended)")
        if self.tabs.currentWidget() is self.compare:
            self.tabs.setCurrentWidget(self.plots)

    def show_comparison(self, runs: list[tuple[str, list[dict]]]) -> None:
        """Overlay ``(run name, metrics rows)`` pairs on the Compare tab and show it."""
        self.compare.show_runs(runs)
        self.tabs.setCurrentWidget(self.compare)
        self.title.setText(f"Comparing {len(runs)} runs: " + ", ".join(name for name, _ in runs))

    def clear(self) -> None:
        self.plots.reset()
        self.results.clear()
        self.config_text.clear()
        self.title.setText("")
