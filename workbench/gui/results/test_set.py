"""The held-out test set's scores (``summary["test"]``): accuracy, loss, confusion matrix and
per-class metrics, labelled as what they are: a last, untouched check, never used to choose."""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout

from workbench.gui.common import bold_label
from workbench.gui.results.summary_block import pct
from workbench.gui.results.tables import ConfusionMatrixTable, PerClassTable

NEVER_USED = ("Scored once, after training, with the weights this run kept. These images were never "
              "used to choose anything: not the best epoch, not early stopping, not the schedule, not "
              "the settings. Report this number; the validation figures above helped choose.")


class TestSetSection(QGroupBox):
    """Hidden unless the summary has a test set."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, parent=None):
        super().__init__("Held-out test set", parent)
        self.setAccessibleName("Test set")
        # As tall as its contents: with a final model's results it is all the view shows.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        note = QLabel(NEVER_USED)
        note.setWordWrap(True)
        self.headline = bold_label("")
        self.headline.setAccessibleName("Test-set accuracy")
        self.matrix_table = ConfusionMatrixTable()
        self.matrix_table.setAccessibleName("Test-set confusion matrix")
        self.matrix_table.setToolTip("Rows: true class. Columns: predicted class. Test images only.")
        self.class_table = PerClassTable()
        self.class_table.setAccessibleName("Test-set per-class metrics")
        self.class_table.setToolTip("Precision, recall and F1 of each class on the test images")
        tables = QHBoxLayout()
        tables.addWidget(self.matrix_table, 1)
        tables.addWidget(self.class_table, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(note)
        layout.addLayout(tables)
        self.hide()

    def show_test(self, test: dict | None, class_names: list[str]) -> None:
        if not test:
            self.hide()
            return
        self.headline.setText(f"Test accuracy {pct(test.get('accuracy'))} · test loss "
                              f"{test.get('loss', float('nan')):.4f} · {test.get('n', 0)} test images")
        self.matrix_table.show_matrix([list(map(int, row)) for row in test.get("confusion") or []],
                                      class_names)
        self.class_table.show_classes(test.get("per_class") or [])
        for table in (self.matrix_table, self.class_table):  # as tall as their rows, no taller
            table.setFixedHeight(table.horizontalHeader().sizeHint().height()
                                 + table.verticalHeader().length() + 2 * table.frameWidth() + 2)
        self.show()
