"""The dataset panel: what a scanned folder holds (counts, warnings, skipped files, examples)."""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.data.decode import load_image
from workbench.data.scan import DatasetScan, SkippedFile
from workbench.gui.common import action_button, bold_label, pixmap_from_array
from workbench.gui.offthread import LatestRequest, run_in_pool

THUMBNAIL_PX = 64
THUMBNAILS_PER_CLASS = 6
THUMBNAIL_SPACING = 6
CLASS_TITLE_PX = 120
CONTENT_MARGIN = 8
# Past this many classes, a strip per class is more scrolling than insight; the chart still shows all.
MAX_THUMBNAIL_CLASSES = 40
# Up to this many classes the chart sits beside the examples; more need its full width.
CHART_BESIDE_MAX_CLASSES = 8
# Counts printed over the bars only while they stay legible.
MAX_VALUE_LABELS = 30
IMBALANCE_WARNING_RATIO = 1.5  # the threshold DatasetScan.report() warns at

ERROR_STYLE = ("QLabel { color: #8b0000; background: #fdecea; border: 1px solid #e6a5a5;"
               " border-radius: 4px; padding: 8px; }")
WARNING_STYLE = ("QLabel { color: #5c3b00; background: #fff4e0; border: 1px solid #e8c78a;"
                 " border-radius: 4px; padding: 6px; }")


def _load_thumbnail(path: str) -> np.ndarray | None:
    try:
        return load_image(path, THUMBNAIL_PX)
    except Exception:  # noqa: BLE001 — any decoder failure: show a placeholder instead
        return None


# The imbalance warning's one-click remedies: (setting path, value, button text, tooltip).
IMBALANCE_REMEDIES = (
    ("class_weights", "balanced", "Use balanced class weights",
     "Set Class weights to balanced: each class's loss is weighted by the inverse of its share of "
     "the training images, so a small class counts as much as a large one."),
    ("balanced_sampler", True, "Use balanced sampler",
     "Turn on the balanced sampler: every batch is drawn with equal probability for each class "
     "(small classes' images repeat more often)."),
)


class DatasetPanel(QWidget):
    """Shows a :class:`DatasetScan`: images per class, warnings, skipped files and examples.

    ``settingRequested(path, value)`` asks the settings form to change a setting (the imbalance
    warning's remedies); the panel itself holds no settings.
    """

    settingRequested = Signal(str, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._thumbnail_request = LatestRequest()  # a new scan drops the old one's thumbnails
        self._thumbnails: dict[int, list[QLabel]] = {}

        self._header = QLabel()
        self._header.setObjectName("header")
        self._header.setWordWrap(True)
        self._header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self._header.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self._header.setFont(font)

        self._error = _message_label("error", ERROR_STYLE, "Dataset error")
        self._imbalance = _message_label("imbalanceWarning", WARNING_STYLE, "Class imbalance warning")
        self._empty = _message_label("emptyClasses", WARNING_STYLE, "Empty classes")
        self._imbalance_actions = QWidget()
        actions = QHBoxLayout(self._imbalance_actions)
        actions.setContentsMargins(0, 0, 0, 0)
        self.remedy_buttons: dict[str, object] = {}
        for path, value, text, tip in IMBALANCE_REMEDIES:
            button = action_button(text, text, tip, lambda _=False, p=path, v=value: self._apply_remedy(p, v))
            self.remedy_buttons[path] = button
            actions.addWidget(button)
        actions.addStretch(1)

        self._chart = pg.PlotWidget(background=self.palette().color(QPalette.ColorRole.Base))
        self._chart.setAccessibleName("Images per class")
        self._chart.setToolTip("Number of usable images in each class")
        # A fixed height: stretched to fill a tall window, four bars would tower over the examples.
        self._chart.setFixedHeight(240)
        plot = self._chart.getPlotItem()
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.showGrid(y=True, alpha=0.25)
        plot.setTitle("Images per class")
        plot.setLabel("left", "images")
        text_colour = self.palette().color(QPalette.ColorRole.Text)
        for name in ("left", "bottom"):
            plot.getAxis(name).setTextPen(text_colour)
        self._bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.6,
                                     brush=pg.mkBrush(70, 130, 180), pen=pg.mkPen(None))
        plot.addItem(self._bars)
        self._value_labels: list[pg.TextItem] = []

        self._examples_title = bold_label("Examples")
        self._examples = QWidget()
        self._examples_grid = QGridLayout(self._examples)
        self._examples_grid.setContentsMargins(0, 0, 0, 0)
        self._examples_grid.setHorizontalSpacing(THUMBNAIL_SPACING)
        self._examples_grid.setVerticalSpacing(THUMBNAIL_SPACING)
        self._examples_note = QLabel()
        self._examples_note.setWordWrap(True)

        self._skipped_title = bold_label("Skipped files")
        self._skipped = QTableWidget(0, 2)
        self._skipped.setAccessibleName("Skipped files")
        self._skipped.setToolTip("Files in the folder that will not be trained on, and why")
        self._skipped.setHorizontalHeaderLabels(["File", "Reason"])
        self._skipped.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._skipped.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._skipped.verticalHeader().setVisible(False)
        header = self._skipped.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(CONTENT_MARGIN, CONTENT_MARGIN, CONTENT_MARGIN, CONTENT_MARGIN)
        layout.setSpacing(10)
        for widget in (self._header, self._error, self._imbalance, self._imbalance_actions, self._empty):
            layout.addWidget(widget)
        # A few classes: the chart beside the examples, so at 1400×900 every class's strip and the
        # augmentation preview under the panel fit without scrolling; many: the chart above them,
        # full width, where its bars stay legible.
        self._chart_above = QVBoxLayout()
        layout.addLayout(self._chart_above)
        examples = QVBoxLayout()
        for widget in (self._examples_title, self._examples, self._examples_note):
            examples.addWidget(widget)
        examples.addStretch(1)
        self._beside = QHBoxLayout()
        self._beside.addLayout(examples)
        self._chart_beside = QVBoxLayout()
        self._beside.addLayout(self._chart_beside, 1)
        layout.addLayout(self._beside)
        self._place_chart(beside=True)
        for widget in (self._skipped_title, self._skipped):
            layout.addWidget(widget)
        layout.addStretch(1)
        # The panel can be taller than its window (many classes, many skipped files): scroll.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        # Wide enough for a row of examples, so normally only long lists scroll, vertically.
        row_width = CLASS_TITLE_PX + THUMBNAILS_PER_CLASS * (THUMBNAIL_PX + THUMBNAIL_SPACING)
        scroll.setMinimumWidth(row_width + 2 * CONTENT_MARGIN
                               + scroll.verticalScrollBar().sizeHint().width())
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.clear()

    def sizeHint(self) -> QSize:
        return QSize(620, 420)

    def _place_chart(self, beside: bool) -> None:
        target, other = ((self._chart_beside, self._chart_above) if beside
                         else (self._chart_above, self._chart_beside))
        if target.indexOf(self._chart) < 0:
            other.removeWidget(self._chart)
            target.addWidget(self._chart, 0, Qt.AlignmentFlag.AlignTop)
        self._chart.setMinimumWidth(260 if beside else 0)

    def clear(self) -> None:
        """Back to the empty state; thumbnails still being decoded are dropped."""
        self._thumbnail_request.cancel()
        self._header.setText("No dataset yet: choose an image folder (one subfolder per class).")
        for label in (self._error, self._imbalance, self._empty):
            label.clear()
            label.hide()
        self._imbalance_actions.hide()
        for button in self.remedy_buttons.values():
            button.setEnabled(True)
        self._set_bars([], [])
        self._chart.hide()
        self._clear_examples()
        self._examples_title.hide()
        self._examples_note.hide()
        self._skipped.setRowCount(0)
        self._skipped.hide()
        self._skipped_title.hide()

    def show_progress(self, done: int, total: int) -> None:
        """A large folder's scan under way (headers checked, of the files found)."""
        if done < total:
            self._header.setText(f"Scanning… {done:,} of {total:,} files checked")

    def show_error(self, message: str) -> None:
        """Show why the folder cannot be trained on, in place of everything else."""
        self.clear()
        self._header.setText("This folder cannot be trained on")
        self._error.setText(message)
        self._error.show()

    def show_scan(self, scan: DatasetScan) -> None:
        """Show ``scan`` and start decoding its example thumbnails in the background."""
        self.clear()
        counts = scan.class_counts()
        split = ""
        if scan.presplit:
            split = " (already split: " + ", ".join(
                f"{name} {len(items)}" for name, items in scan.samples.items()) + ")"
        self._header.setText(f"{_plural(scan.num_images, 'image')} in "
                             f"{_plural(len(scan.class_names), 'class', 'classes')}{split} — {scan.root}")
        self._header.setToolTip(scan.root)

        if counts and scan.imbalance_ratio >= IMBALANCE_WARNING_RATIO:
            nonzero = {name: n for name, n in counts.items() if n}
            largest = max(nonzero, key=nonzero.get)
            smallest = min(nonzero, key=nonzero.get)
            self._imbalance.setText(
                f"Classes are imbalanced: largest/smallest = {scan.imbalance_ratio:.1f} "
                f"('{largest}' has {nonzero[largest]} images, '{smallest}' has {nonzero[smallest]}). "
                "Accuracy can look good while the small classes are poorly recognised: check each "
                "class's recall in Results, and consider one of these (set in the settings):")
            self._imbalance.show()
            self._imbalance_actions.show()
        if scan.empty_classes:
            names = ", ".join(f"'{name}'" for name in scan.empty_classes)
            self._empty.setText(f"No usable images, left out: {names}.")
            self._empty.show()

        self._set_bars(list(counts), list(counts.values()))
        self._place_chart(beside=len(counts) <= CHART_BESIDE_MAX_CLASSES)
        self._chart.show()
        self._show_skipped(scan)
        self._start_thumbnails(scan)

    def _apply_remedy(self, path: str, value) -> None:
        self.settingRequested.emit(path, value)
        self.remedy_buttons[path].setEnabled(False)  # done; a new scan offers it again

    # --- chart -------------------------------------------------------------------------------

    def _set_bars(self, names: list[str], heights: list[int]) -> None:
        plot = self._chart.getPlotItem()
        x = np.arange(len(names), dtype=float)
        self._bars.setOpts(x=x, height=np.asarray(heights, dtype=float))
        for item in self._value_labels:
            plot.removeItem(item)
        self._value_labels = []
        # Long names would collide; the full name is in the examples' row titles.
        plot.getAxis("bottom").setTicks([[(i, _elide(name, 14)) for i, name in enumerate(names)]])
        if not names:
            return
        if len(names) <= MAX_VALUE_LABELS:
            for i, n in enumerate(heights):
                label = pg.TextItem(str(n), anchor=(0.5, 1.0),
                                    color=self.palette().color(QPalette.ColorRole.Text))
                label.setPos(i, n)
                plot.addItem(label)
                self._value_labels.append(label)
        plot.setXRange(-0.6, len(names) - 0.4, padding=0)
        plot.setYRange(0, max(max(heights), 1) * 1.18, padding=0)

    # --- skipped files -----------------------------------------------------------------------

    def _show_skipped(self, scan: DatasetScan) -> None:
        self.show_skipped(scan.skipped, scan.root)

    def show_skipped(self, skipped: list, root: str) -> None:
        """List ``skipped`` files (SkippedFile or ``{"path", "reason"}`` dicts, e.g. a run's scan
        report with the files that failed to decode) with their reasons, paths relative to ``root``."""
        skipped = [SkippedFile(**item) if isinstance(item, dict) else item for item in skipped]
        self._skipped_title.show()
        if not skipped:
            self._skipped_title.setText("Skipped files: none")
            self._skipped.setRowCount(0)
            self._skipped.hide()
            return
        self._skipped_title.setText(f"Skipped files ({len(skipped)})")
        self._skipped.setRowCount(len(skipped))
        for row, item in enumerate(skipped):
            shown = _relative(item.path, root)
            path_item = QTableWidgetItem(shown)
            path_item.setToolTip(item.path)
            self._skipped.setItem(row, 0, path_item)
            reason_item = QTableWidgetItem(item.reason)
            reason_item.setToolTip(item.reason)
            self._skipped.setItem(row, 1, reason_item)
        self._skipped.resizeColumnToContents(0)
        self._skipped.setColumnWidth(0, min(self._skipped.columnWidth(0), 360))
        # Tall enough for up to 8 rows, then the table scrolls inside the panel.
        rows = min(len(skipped), 8)
        height = (self._skipped.horizontalHeader().sizeHint().height()
                  + rows * self._skipped.verticalHeader().defaultSectionSize() + 4)
        self._skipped.setFixedHeight(height)
        self._skipped.show()

    # --- thumbnails --------------------------------------------------------------------------

    def _clear_examples(self) -> None:
        while self._examples_grid.count():
            widget = self._examples_grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self._thumbnails = {}

    def _start_thumbnails(self, scan: DatasetScan) -> None:
        paths_by_class: dict[int, list[str]] = {}
        # Training images first in a pre-split folder: those are what the model learns from.
        for split in sorted(scan.samples, key=lambda name: name != "train"):
            for path, label in scan.samples[split]:
                paths = paths_by_class.setdefault(label, [])
                if len(paths) < THUMBNAILS_PER_CLASS:
                    paths.append(path)
        shown = sorted(paths_by_class)[:MAX_THUMBNAIL_CLASSES]
        counts = scan.class_counts()
        bold = QFont(self.font())
        bold.setBold(True)
        for row, class_index in enumerate(shown):
            name = scan.class_names[class_index]
            title = QLabel()
            title.setFont(bold)
            title.setFixedWidth(CLASS_TITLE_PX)
            shown_name = title.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight,
                                                         CLASS_TITLE_PX - THUMBNAIL_SPACING)
            title.setText(f"{shown_name}\n{_plural(counts[name], 'image')}")
            title.setToolTip(name)
            self._examples_grid.addWidget(title, row, 0)
            labels = []
            for column, path in enumerate(paths_by_class[class_index], start=1):
                label = QLabel()
                label.setObjectName("thumbnail")
                label.setAccessibleName(f"Example of {name}")
                label.setToolTip(path)
                label.setFixedSize(THUMBNAIL_PX, THUMBNAIL_PX)
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                label.setStyleSheet("QLabel { background: palette(midlight); }")
                self._examples_grid.addWidget(label, row, column)
                labels.append(label)
            self._thumbnails[class_index] = labels
        self._examples_grid.setColumnStretch(THUMBNAILS_PER_CLASS + 1, 1)
        self._examples_title.show()
        hidden = len(paths_by_class) - len(shown)
        if hidden:
            self._examples_note.setText(f"… and {hidden} more classes (examples not shown).")
            self._examples_note.show()
        # One job per class, so each strip fills in as soon as its images are decoded.
        wanted = self._thumbnail_request.next()
        for class_index in shown:
            paths = paths_by_class[class_index]
            run_in_pool(lambda paths=paths: [(path, _load_thumbnail(path)) for path in paths],
                        lambda images, c=class_index: self._show_thumbnails(c, images), None,
                        owner=self, wanted=wanted)

    def _show_thumbnails(self, class_index: int, images: list) -> None:
        for label, (path, image) in zip(self._thumbnails.get(class_index, []), images, strict=False):
            if image is None:
                label.setText("✕")
                label.setToolTip(f"{path}\ncould not be decoded")
            else:
                label.setPixmap(pixmap_from_array(image))


def _message_label(object_name: str, style: str, accessible_name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    label.setAccessibleName(accessible_name)
    label.setWordWrap(True)
    label.setStyleSheet(style)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _plural(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _elide(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _relative(path: str, root: str) -> str:
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative
