"""The confusion matrix and the per-class metrics table of a run summary."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from workbench.gui.results.colours import cell_colour, text_colour_for
from workbench.gui.results.summary_block import pct

RECALL_COLUMN = 2
WEAKEST_RECALL_BACKGROUND = "#fff4e0"  # the Dataset tab's warning colour


def _make_readonly(table: QTableWidget) -> None:
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setWordWrap(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)


class ConfusionMatrixTable(QTableWidget):
    """Rows: true class; columns: predicted; cells shaded by their share of the true class."""

    def __init__(self, parent=None):
        super().__init__(0, 0, parent)
        _make_readonly(self)
        self.matrix: list[list[int]] = []
        self.setAccessibleName("Confusion matrix")
        self.setToolTip("Rows: true class. Columns: predicted class. "
                        "Shading: share of the true class's validation images.")
        # Equal-width columns make the matrix read as a grid; below the minimum width (set per
        # summary from the class names) it scrolls, and longer names are elided in the middle
        # because class names often share a prefix or a suffix.
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideMiddle)

    def empty(self) -> None:
        self.matrix = []
        self.clear()
        self.setRowCount(0)
        self.setColumnCount(0)

    def show_matrix(self, matrix: list[list[int]], names: list[str]) -> None:
        self.matrix = matrix
        k = len(matrix)
        if len(names) != k:  # a summary without names still shows its numbers
            names = [str(i) for i in range(k)]
        self.setRowCount(k)
        self.setColumnCount(k)
        self.setHorizontalHeaderLabels(names)
        header = self.horizontalHeader()
        widest = max((header.fontMetrics().horizontalAdvance(n) for n in names), default=0)
        header.setMinimumSectionSize(max(48, min(widest + 16, 120)))
        self.setVerticalHeaderLabels(names)
        for i, name in enumerate(names):
            self.horizontalHeaderItem(i).setToolTip(f"Predicted as {name}")
            self.verticalHeaderItem(i).setToolTip(f"True class {name}")
        for r, row in enumerate(matrix):
            total = sum(row)
            for c, count in enumerate(row):
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                share = count / total if total else 0.0
                tip = f"True {names[r]}, predicted {names[c]}: {count} ({share:.1%} of {names[r]})"
                item.setToolTip(tip)
                item.setData(Qt.ItemDataRole.AccessibleTextRole, tip)
                if r == c:
                    bold = QFont(item.font())
                    bold.setBold(True)
                    item.setFont(bold)
                self.setItem(r, c, item)
        self.shade()

    def shade(self) -> None:
        # Separate from filling so a palette change (light/dark switch) can recolour in place.
        base = self.palette().color(QPalette.ColorRole.Base)
        dim = self.palette().color(QPalette.ColorRole.PlaceholderText)
        for r, row in enumerate(self.matrix):
            total = sum(row)
            for c, count in enumerate(row):
                item = self.item(r, c)
                if item is None:
                    continue
                colour = cell_colour(base, count / total if total else 0.0, r == c)
                item.setBackground(colour)
                # Zeros are the usual case off the diagonal; dimming them lets the mistakes stand out.
                item.setForeground(dim if count == 0 else text_colour_for(colour))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 — Qt override
        if event.type() == QEvent.Type.PaletteChange:
            self.shade()
        super().changeEvent(event)


class PerClassTable(QTableWidget):
    """Precision, recall, F1 and support per class, and their macro average."""

    def __init__(self, parent=None):
        super().__init__(0, 5, parent)
        _make_readonly(self)
        self.setAccessibleName("Per-class metrics")
        self.setToolTip("Precision, recall and F1 of each class on the validation images")
        self.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Support"])
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().hide()
        for col, tip in enumerate(("Class folder name",
                                   "Of the images predicted as this class, the share that were it",
                                   "Of the images of this class, the share predicted correctly",
                                   "Harmonic mean of precision and recall",
                                   "Validation images of this class")):
            self.horizontalHeaderItem(col).setToolTip(tip)
        recall = self.horizontalHeaderItem(RECALL_COLUMN)
        font = QFont(recall.font())
        font.setBold(True)
        recall.setFont(font)  # the column to read when classes are imbalanced

    def show_classes(self, per_class: list[dict]) -> None:
        rows = list(per_class)
        if rows:
            n = len(rows)
            rows.append({"class": "Macro average",
                         "precision": sum(r["precision"] for r in per_class) / n,
                         "recall": sum(r["recall"] for r in per_class) / n,
                         "f1": sum(r["f1"] for r in per_class) / n,
                         "support": sum(int(r["support"]) for r in per_class)})
        self.setRowCount(len(rows))
        weakest = min(range(len(per_class)), key=lambda i: per_class[i]["recall"]) if per_class else None
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, entry in enumerate(rows):
            cells = [str(entry["class"]), pct(entry["precision"]), pct(entry["recall"]),
                     pct(entry["f1"]), str(int(entry["support"]))]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(right)
                if per_class and r == len(per_class):
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                    item.setToolTip("Unweighted mean over the classes; support is the total")
                if c == RECALL_COLUMN and r == weakest:
                    item.setBackground(QColor(WEAKEST_RECALL_BACKGROUND))
                    item.setForeground(QColor("#5c3b00"))
                    item.setToolTip("The lowest recall: the class recognised least often")
                self.setItem(r, c, item)
