"""The results of a finished run: summary, confusion matrix, per-class metrics, misclassified images.

Everything shown comes from the run's summary dict (``summary.json`` / the RunEnd event), so the
same view serves a run that just ended and one reopened from disk. Its parts are their own
modules: the summary block, the two tables, the gallery (images decoded on a private pool), the
reliability diagram of the run's calibration.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QVBoxLayout, QWidget

from workbench.gui.common import action_button, bold_label, open_folder
from workbench.gui.results.colours import cell_colour
from workbench.gui.results.gallery import THUMBNAIL_SIZE, MisclassifiedGallery
from workbench.gui.results.image_dialog import ImageDialog
from workbench.gui.results.reliability import ReliabilityDiagram
from workbench.gui.results.summary_block import DETAIL_KEYS, SummaryBlock
from workbench.gui.results.tables import ConfusionMatrixTable, PerClassTable
from workbench.gui.results.test_set import TestSetSection

__all__ = ["THUMBNAIL_SIZE", "ResultsView", "cell_colour"]


class ResultsView(QWidget):
    """Shows a run summary: headline, key numbers, confusion matrix, per-class table, mistakes."""

    thumbnailsLoaded = Signal()  # every gallery thumbnail is in (decoded or marked unreadable)

    DETAIL_KEYS = DETAIL_KEYS

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Results")
        self._summary: dict | None = None
        self._block = SummaryBlock()
        self.summary_label, self.detail_labels, self._details = (self._block.label, self._block.details,
                                                                 self._block.grid)
        self.matrix_table = ConfusionMatrixTable()
        self.class_table = PerClassTable()
        self.gallery = MisclassifiedGallery()
        self.test_set = TestSetSection()
        self.reliability = ReliabilityDiagram()
        self.open_folder_button = action_button(
            "Open run folder", "Open run folder", "Show this run's folder (checkpoints, exports, "
            "summary, TensorBoard files) in the file manager", self.open_run_folder)
        self.gallery_label = self.gallery.label
        self.gallery.thumbnailsLoaded.connect(self.thumbnailsLoaded)
        self._build_layout()
        self.clear()

    def _build_layout(self) -> None:
        def section(title: str, *widgets: QWidget) -> QWidget:
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(bold_label(title))
            for widget in widgets:
                lay.addWidget(widget)
            lay.setStretch(len(widgets), 1)  # the last widget (a table or the gallery) grows
            return box

        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(section("Validation confusion matrix  (rows: true, columns: predicted)",
                                 self.matrix_table))
        tables.addWidget(section("Validation per-class metrics", self.class_table))
        lower = QSplitter(Qt.Orientation.Horizontal)  # the mistakes beside how far to trust a score
        lower.addWidget(section("Misclassified validation images", self.gallery_label, self.gallery.heat_mode,
                                self.gallery))
        lower.addWidget(section("Calibrated confidence", self.reliability))
        lower.setStretchFactor(0, 2)
        lower.setStretchFactor(1, 1)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(tables)
        body.addWidget(lower)
        # When the window grows, the gallery gets the new room; the tables keep their fitted height.
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        for splitter, what in ((tables, "the two tables"), (body, "the tables and the gallery"),
                               (lower, "the gallery and the reliability diagram")):
            splitter.setChildrenCollapsible(False)
            # The handle is the draggable control; a tooltip on the splitter itself would show
            # over every child that has none.
            splitter.handle(1).setAccessibleName(f"Divider between {what}")
            splitter.handle(1).setToolTip(f"Drag to share the space between {what}")
        self._tables, self._body, self._needs_fit = tables, body, False

        layout = QVBoxLayout(self)
        headline = QHBoxLayout()
        headline.addWidget(self.summary_label, 1)
        headline.addWidget(self.open_folder_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(headline)
        layout.addLayout(self._details)
        layout.addWidget(self.test_set)
        layout.addWidget(body, 1)
        layout.addStretch(0)  # takes the room when the body is hidden (a final model's results)

    # -- public API ------------------------------------------------------------------------

    def show_summary(self, summary: dict) -> None:
        """Show ``summary`` (the dict of ``summary.json`` / the RunEnd event), replacing any other."""
        self.clear()
        self._summary = summary
        self._block.show(summary)
        matrix = [list(map(int, row)) for row in summary.get("confusion_matrix") or []]
        self.matrix_table.show_matrix(matrix, list(summary.get("class_names") or []))
        self.class_table.show_classes(summary.get("per_class") or [])
        self.gallery.show_summary(summary, matrix)
        self.test_set.show_test(summary.get("test"), list(summary.get("class_names") or []))
        self.reliability.show_calibration(summary.get("calibration"))
        self.open_folder_button.setEnabled(bool(summary.get("run_dir"))
                                           and Path(summary["run_dir"]).is_dir())
        # A final model (no validation split) has no validation tables or mistakes to show.
        self._body.setVisible(summary.get("n_val", 1) != 0)
        self._needs_fit = True
        if self.isVisible():
            self._fit_tables()

    def clear(self) -> None:
        """Empty every part of the view and drop thumbnails still being decoded."""
        self._summary = None
        self._block.clear()
        self.matrix_table.empty()
        self.class_table.setRowCount(0)
        self.gallery.empty()
        self.test_set.show_test(None, [])
        self.reliability.clear()
        self.open_folder_button.setEnabled(False)
        self._body.setVisible(True)

    def open_run_folder(self) -> bool:
        """Show the run folder of the summary on show in the file manager."""
        return bool(self._summary and self._summary.get("run_dir") and open_folder(self._summary["run_dir"]))

    def open_image(self, row: int) -> ImageDialog | None:
        """Open gallery item ``row`` larger in a non-modal dialog; returns the dialog."""
        return self.gallery.open_image(row)

    @property
    def summary(self) -> dict | None:
        """The summary on show, or None after :meth:`clear`."""
        return self._summary

    @property
    def thumbnails_pending(self) -> int:
        """How many gallery thumbnails are still being decoded."""
        return self.gallery.pending

    def showEvent(self, event) -> None:  # noqa: N802 — Qt override
        super().showEvent(event)
        if self._needs_fit:
            self._fit_tables()

    def _fit_tables(self) -> None:
        # Give the tables the room their rows and columns need (within reason) and the gallery
        # the rest, instead of a fixed split that leaves a few-class matrix floating in space.
        total, width = self._body.height(), self._tables.width()
        if total <= 0 or width <= 0:
            return
        self._needs_fit = False
        table = self.class_table
        need = (max(table.sizeHintForColumn(0), table.horizontalHeader().sectionSizeHint(0))
                + sum(table.columnWidth(c) for c in range(1, table.columnCount()))
                + 2 * table.frameWidth() + table.verticalScrollBar().sizeHint().width())
        need = max(200, min(need, width // 2))
        self._tables.setSizes([width - need, need])

        matrix = self.matrix_table
        content = max(t.horizontalHeader().sizeHint().height() + t.verticalHeader().length()
                      + 2 * t.frameWidth() for t in (matrix, self.class_table))
        matrix_width = (matrix.verticalHeader().sizeHint().width() + 2 * matrix.frameWidth()
                        + matrix.columnCount() * matrix.horizontalHeader().minimumSectionSize())
        if matrix_width > width - need:  # many classes: the matrix scrolls sideways
            content += matrix.horizontalScrollBar().sizeHint().height()
        want = self.fontMetrics().height() + self.layout().spacing() + content + 2
        want = max(120, min(want, int(total * 0.6)))
        self._body.setSizes([want, total - want])
