"""The search space, editable: for each setting of the default space, whether it is searched, its
range (and log scale) or its choices, and the explicit values a grid search tries. ``space()``
gives the ``{setting: spec}`` the engine takes; a row that is wrong says why beside it."""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QLineEdit, QWidget

from workbench.config import ConfigError, TrainConfig
from workbench.setting import settings_of
from workbench.studies.search_space import DEFAULT_SPACE, config_for

# What a grid search tries for a range when the user has not said: a few spread-out values.
GRID_DEFAULTS = {"lr": "1e-4, 1e-3, 1e-2", "weight_decay": "1e-5, 1e-3", "label_smoothing": "0, 0.1",
                 "augment_strength": "0.5, 1"}
COLUMNS = ("Search", "From", "To", "Log scale", "Choices / grid values", "")
PROBLEM_STYLE = "color: #c62828;"


def parse_values(text: str, kind: str) -> list:
    """Comma-separated values: numbers where they read as numbers (whole ones as ints for an int
    setting or a choice), other words as they are; empty items dropped."""
    values = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            number = float(item)
        except ValueError:
            values.append(item)
            continue
        values.append(int(number) if number.is_integer() and kind != "float" else number)
    return values


class _SpaceRow:
    """One setting's widgets in the editor's grid."""

    def __init__(self, name: str, spec: dict, label: str):
        self.name, self.kind = name, spec["type"]
        self.search = QCheckBox(label)
        self.search.setChecked(True)
        self.search.setAccessibleName(f"Search {label.lower()}")
        self.search.setToolTip(f"Let the search choose {label.lower()}; unticked, it keeps the form's value")
        ranged = self.kind in ("float", "int")
        self.low, self.high = QLineEdit(), QLineEdit()
        for edit, which, value in ((self.low, "lowest", spec.get("low")),
                                   (self.high, "highest", spec.get("high"))):
            edit.setAccessibleName(f"{label} {which} value")
            edit.setToolTip(f"The {which} value the search may draw (1e-4 notation is fine)")
            edit.setText(f"{value:g}" if ranged else "")
            edit.setVisible(ranged)
            edit.setMaximumWidth(90)
        self.log = QCheckBox()
        self.log.setChecked(bool(spec.get("log")))
        self.log.setVisible(ranged)
        self.log.setAccessibleName(f"{label} on a log scale")
        self.log.setToolTip("Draw on a log scale: as many values between 1e-4 and 1e-3 as between 1e-3 "
                            "and 1e-2 (rates and decays)")
        self.values = QLineEdit(", ".join(str(c) for c in spec.get("choices", [])) if not ranged
                                else GRID_DEFAULTS.get(name, ""))
        self.values.setAccessibleName(f"{label} {'grid values' if ranged else 'choices'}")
        self.values.setToolTip("The values a grid search tries, comma-separated" if ranged
                               else "The values the search chooses from, comma-separated")
        self.values.setPlaceholderText("grid values, e.g. 1e-4, 1e-3" if ranged
                                       else "choices, comma-separated")
        self.problem = QLabel("")
        self.problem.setStyleSheet(PROBLEM_STYLE)
        self.problem.setAccessibleName(f"{label} problem")
        self.problem.setWordWrap(True)
        self.widgets = (self.search, self.low, self.high, self.log, self.values, self.problem)

    def show_grid(self, grid: bool) -> None:
        """A grid search tries explicit values: the range gives way to the grid values."""
        on = self.search.isChecked()
        ranged = self.kind in ("float", "int")
        for widget in (self.low, self.high, self.log):
            widget.setEnabled(on and not grid)
        self.values.setEnabled(on and (grid or not ranged))

    def spec(self, grid: bool) -> tuple[dict | None, list[str]]:
        """This row's spec (None when not searched) and what is wrong with it."""
        if not self.search.isChecked():
            return None, []
        label = self.search.text().lower()
        ranged = self.kind in ("float", "int")
        spec: dict = {"type": self.kind}
        problems: list[str] = []
        values = parse_values(self.values.text(), self.kind)
        if ranged and not grid:
            try:
                low, high = float(self.low.text()), float(self.high.text())
            except ValueError:
                return None, [f"{label}: from and to must be numbers"]
            if self.kind == "int":
                low, high = int(low), int(high)
            if not low < high:
                problems.append(f"{label}: from ({low:g}) must be less than to ({high:g})")
            elif self.log.isChecked() and low <= 0:
                problems.append(f"{label}: a log scale needs values above 0")
            spec.update(low=low, high=high, log=self.log.isChecked())
            values = [low, high]
        else:
            if not values:
                what = "grid values" if ranged else "choices"
                return None, [f"{label}: give at least one of the {what}"]
            if len(set(map(str, values))) < len(values):
                problems.append(f"{label}: a value is given twice")
            if ranged:
                spec.update(low=min(values), high=max(values), values=values)
                if spec["low"] == spec["high"]:
                    spec["high"] = spec["low"] + 1  # one grid value: the range is only a formality
            else:
                spec["choices"] = values
        for value in values:
            problems += _value_problems(self.name, value, label)
        return (None if problems else spec), problems


def _value_problems(name: str, value, label: str) -> list[str]:
    """Whether a trial drawing ``value`` could train at all (an optimizer that does not exist, a
    smoothing of 2): the setting's own checks, on otherwise default settings."""
    try:
        config_for(TrainConfig(), {name: value})
    except ConfigError as exc:
        return [f"{label}: {value} is refused ({'; '.join(exc.problems)})"]
    except (TypeError, ValueError) as exc:
        return [f"{label}: {value} is refused ({exc})"]
    return []


class SearchSpaceEditor(QWidget):
    """``space()`` is the edited space (or raises ConfigError with every reason); ``changed``
    fires on each edit. ``set_grid(True)`` for the grid sampler."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("Search space")
        labels = settings_of(TrainConfig)
        self.rows = [_SpaceRow(name, spec, labels[name].label if name in labels else "Augmentation strength")
                     for name, spec in copy.deepcopy(DEFAULT_SPACE).items()]
        self.grid = False
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for column, title in enumerate(COLUMNS):
            header = QLabel(title)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            layout.addWidget(header, 0, column)
        for r, row in enumerate(self.rows, start=1):
            for column, widget in enumerate(row.widgets):
                layout.addWidget(widget, r, column, alignment=Qt.AlignmentFlag.AlignVCenter)
            row.search.toggled.connect(self._on_edit)
            row.log.toggled.connect(self._on_edit)
            for edit in (row.low, row.high, row.values):
                edit.textChanged.connect(self._on_edit)
        layout.setColumnStretch(4, 2)
        layout.setColumnStretch(5, 3)
        self._on_edit()

    def row(self, name: str) -> _SpaceRow:
        return next(r for r in self.rows if r.name == name)

    def set_grid(self, grid: bool) -> None:
        self.grid = grid
        self._on_edit()

    def problems(self) -> list[str]:
        """Every reason the space cannot be searched (each also shown beside its row)."""
        return list(self._problems)

    def space(self) -> dict[str, dict]:
        if self._problems:
            raise ConfigError(self._problems)
        return copy.deepcopy(self._space)

    def _on_edit(self) -> None:
        # Checked once per edit (the window asks often: each form edit, each run's start and end).
        self._space, self._problems = {}, []
        for row in self.rows:
            row.show_grid(self.grid)
            spec, wrong = row.spec(self.grid)
            row.problem.setText("; ".join(w.split(": ", 1)[1] for w in wrong))
            self._problems += wrong
            if spec is not None:
                self._space[row.name] = spec
        if not self._problems and not self._space:
            self._problems.append("tick at least one setting to search")
        self.changed.emit()
