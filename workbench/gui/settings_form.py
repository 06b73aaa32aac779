"""The settings form: every TrainConfig field a user sets, with live derived figures and problems."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.config import AugmentConfig, TrainConfig, all_settings, iterations_per_epoch
from workbench.gui.setting_widgets import edited, make_widget, read, write

# Tooltips of the figures the form shows beside the settings (not TrainConfig fields).
TIPS = {
    "iteration": "An iteration is one weight update, made from one batch of images.",
    "gpus": "Train on this many GPUs at once (one process each, torch DDP): each GPU takes its own "
            "batch, so the effective batch is batch size × GPUs.",
    "advanced": "Show the settings most runs leave at their defaults.",
}
_AUGMENT = "augment."
PROBLEM_STYLE = "color: #d62728;"
# The setting a cross-field problem of TrainConfig.problems() is shown beside, by what its text
# says (per-field problems come keyed by their field from problems_of); the rest stay at the foot.
PROBLEM_ROWS = (("unknown model", "model"), ("pretrained weights", "model"), ("image size", "model"),
                ("weights file", "weights_path"), ("leave no images to train on", "val_fraction"),
                ("early stopping needs", "early_stopping"), ("schedule needs", "schedule"),
                ("batch size", "batch_size"))


class SettingsForm(QWidget):
    """Edits a TrainConfig. ``changed`` fires on every edit; ``problems()`` lists what blocks Start.

    One widget per setting, made from its metadata and grouped by its group; each is an attribute
    named after the field (``form.batch_size``; augmentation ones ``form.aug_rotation_range``).
    """

    changed = Signal()
    helpRequested = Signal(str)  # the guide's anchor of the setting whose "?" was clicked

    def __init__(self, parent=None, *, engine_loaded: bool = True):
        super().__init__(parent)
        # Until torch is loaded (the window loads it after it appears), the form shows no GPU
        # count and checks no cross-field problems (the model's own need torch).
        self.engine_loaded = engine_loaded
        self.n_train: int | None = None
        self.param_counts: dict[str, int] = {}
        self._data_dir: str | None = None  # chosen in the Dataset panel, not here

        self.widgets: dict[str, QWidget] = {}  # by dotted path: "epochs", "augment.rotation_range"
        self._forms: dict[str, QFormLayout] = {}  # the group's layout each setting's row is in
        self._usual_tips: dict[str, str] = {}  # tooltips while a pre-split folder replaces them
        for path, s in all_settings().items():
            if s.in_form:
                self.widgets[path] = make_widget(s)
                name = "aug_" + path[len(_AUGMENT):] if path.startswith(_AUGMENT) else path
                assert not hasattr(self, name), name  # never shadow a QWidget attribute
                setattr(self, name, self.widgets[path])

        self.params_label = QLabel("")
        self.derived = QLabel()
        self.derived.setWordWrap(True)
        self.derived.setAccessibleName("Iterations per epoch")
        self.derived.setToolTip(TIPS["iteration"])
        # The number of processes is how a run is launched (torchrun), not a TrainConfig field.
        self.gpu_count = _cuda_device_count() if engine_loaded else 0
        self.gpus = QSpinBox()
        self.gpus.setRange(1, max(self.gpu_count, 1))
        self.gpus.setToolTip(TIPS["gpus"])
        self.gpus.setAccessibleName("GPUs")
        self.gpus.setValue(max(self.gpu_count, 1))
        self.show_advanced = QCheckBox("Show advanced settings")
        self.show_advanced.setAccessibleName("Show advanced settings")
        self.show_advanced.setToolTip(TIPS["advanced"])
        self.problems_label = QLabel()
        self.problems_label.setWordWrap(True)
        self.problems_label.setAccessibleName("Settings problems")
        self.problems_label.setStyleSheet(PROBLEM_STYLE)
        self.problem_labels: dict[str, QLabel] = {}  # beside each setting, shown when it has one
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        self.notes_label.setAccessibleName("Settings notes")

        layout = QVBoxLayout(self)
        layout.addWidget(self.show_advanced)
        self._advanced_rows: list[tuple[QFormLayout, QWidget]] = []
        self._lay_out_groups(layout)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.problems_label)
        layout.addStretch(1)
        self.show_advanced.toggled.connect(self._show_advanced)
        self._show_advanced(False)

        self.set_config(TrainConfig())
        for widget in self._inputs():
            edited(widget).connect(self._on_edit)

    def _lay_out_groups(self, layout: QVBoxLayout) -> None:
        """A box per group, in the order groups first appear among the fields; the derived
        figures sit after the setting they explain."""
        forms: dict[str, QFormLayout] = {}
        for path, widget in self.widgets.items():
            s = all_settings()[path]
            if s.group not in forms:
                box = QGroupBox(s.group)
                forms[s.group] = QFormLayout(box)
                layout.addWidget(box)
            form = self._forms[path] = forms[s.group]
            if s.kind is bool:
                form.addRow(self._label_with_help(path, ""), widget)
            else:
                shows_unit = s.unit and s.unit.lower() not in s.label.lower()  # not "Epochs (epochs)"
                form.addRow(self._label_with_help(path, f"{s.label} ({s.unit})" if shows_unit else s.label),
                            widget)
            widget.setToolTip(f"{widget.toolTip()}\n\nThe ? beside it opens its paragraph in the user guide.")
            self.problem_labels[path] = problem = QLabel()
            problem.setWordWrap(True)
            problem.setStyleSheet(PROBLEM_STYLE)
            problem.setAccessibleName(f"Problem with {s.label}")
            form.addRow("", problem)
            form.setRowVisible(problem, False)
            if s.advanced:
                self._advanced_rows.append((form, widget))
            if path == "model":
                form.addRow("", self.params_label)
            elif path == "batch_size":
                form.addRow(self.derived)
            elif path == "device":
                form.addRow("GPUs", self.gpus)
                form.setRowVisible(self.gpus, self.gpu_count > 1)

    def _label_with_help(self, path: str, text: str) -> QLabel:
        """The row's label with a "?" link to the setting's paragraph of the user guide."""
        from workbench.gui.help import setting_anchor

        label = QLabel(f'{html.escape(text)} <a href="{setting_anchor(path)}">?</a>')
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setToolTip("Open this setting's paragraph in the user guide")
        label.linkActivated.connect(self.helpRequested.emit)
        label.setBuddy(self.widgets[path])
        return label

    def attach_beside(self, path: str, extra: QWidget) -> None:
        """Put ``extra`` (e.g. a button) on the row of setting ``path``, right of its input."""
        form, field = self._forms[path], self.widgets[path]
        row, _role = form.getWidgetPosition(field)
        taken = form.takeRow(row)
        label = taken.labelItem.widget() if taken.labelItem else None
        box = QWidget()
        line = QHBoxLayout(box)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(field, 1)
        line.addWidget(extra)
        form.insertRow(row, label, box)
        self._advanced_rows = [(f, box if w is field else w) for f, w in self._advanced_rows]

    def set_folder_split(self, presplit: bool) -> None:
        """A folder with its own train/ and val/ (and maybe test/) subfolders sets the validation
        and test images itself: the two fractions are disabled, their tooltips say why."""
        reason = {"val_fraction": "Not used: the image folder has its own train/ and val/ subfolders, "
                                  "which decide the validation images.",
                  "test_fraction": "Not used: the image folder has its own split; its test/ subfolder, "
                                   "if any, is the test set."}
        for path, why in reason.items():
            widget = self.widgets[path]
            usual = self._usual_tips.setdefault(path, widget.toolTip())
            widget.setEnabled(not presplit)
            widget.setToolTip(f"{why}\n\n{usual}" if presplit else usual)

    def _show_advanced(self, shown: bool) -> None:
        for form, widget in self._advanced_rows:
            form.setRowVisible(widget, shown)
        if self.problem_labels:
            self._show_problems()

    def set_engine_loaded(self, gpu_count: int) -> None:
        """Torch is loaded: show the GPUs setting if there are several, check every problem."""
        self.engine_loaded = True
        self.gpu_count = gpu_count
        self.gpus.setRange(1, max(gpu_count, 1))
        self.gpus.setValue(max(gpu_count, 1))
        self._forms["device"].setRowVisible(self.gpus, gpu_count > 1)
        self._refresh()

    def _inputs(self) -> list[QWidget]:
        return [*self.widgets.values(), self.gpus]

    # Config <-> widgets ----------------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        self._data_dir = config.data_dir
        blockers = [w.blockSignals(True) for w in self._inputs()]
        try:
            for path, widget in self.widgets.items():
                write(widget, _value(config, path))
        finally:
            for widget, was in zip(self._inputs(), blockers, strict=True):
                widget.blockSignals(was)
        self._refresh()

    def set_value(self, path: str, value) -> None:
        """Set one setting (dotted path) as if the user had: ``changed`` fires when it changes.
        What another view's one-click suggestion (the Dataset tab's imbalance warning) calls."""
        write(self.widgets[path], value)

    def config(self) -> TrainConfig:
        """The settings as shown, with the image folder from set_config / set_data_dir."""
        values = {path: read(widget) for path, widget in self.widgets.items()}
        augment = {p[len(_AUGMENT):]: v for p, v in values.items() if p.startswith(_AUGMENT)}
        top = {p: v for p, v in values.items() if not p.startswith(_AUGMENT)}
        return TrainConfig(**top, data_dir=self._data_dir, augment=AugmentConfig(**augment))

    def set_data_dir(self, path: str | None) -> None:
        self._data_dir = path

    def set_training_count(self, n_train: int | None) -> None:
        """How many training images the current folder and validation fraction give."""
        self.n_train = n_train
        self._refresh()

    def set_parameter_count(self, model: str, count: int) -> None:
        self.param_counts[model] = count
        self._refresh()

    # Derived figures and problems --------------------------------------------------------------
    def _on_edit(self) -> None:
        self._refresh()
        self.changed.emit()

    def processes(self) -> int:
        """Processes the run trains on: the GPUs setting (shown with 2+ CUDA GPUs), or
        WORKBENCH_PROCESSES for tests and CPU clusters."""
        from workbench.gui.training.controller import processes_from_environment

        forced = processes_from_environment()
        if forced > 1:
            return forced
        if self.gpu_count > 1 and self.device.currentData() in ("auto", "cuda"):
            return self.gpus.value()
        return 1

    def problems(self) -> list[str]:
        config = self.config()
        problems = config.problems()
        processes = self.processes()
        if self.n_train is not None and config.batch_size > self.n_train // processes:
            per = " per process" if processes > 1 else ""
            problems.append(f"batch size {config.batch_size} is larger than the "
                            f"{self.n_train // processes} training images{per}")
        return problems

    def _refresh(self) -> None:
        c = self.config()
        count = self.param_counts.get(c.model)
        self.params_label.setText(f"{count:,} parameters" if count else "counting parameters…")
        processes = self.processes()
        if self.n_train and processes > 1:
            # Each process trains on its share (the remainder is left out of each epoch).
            per_epoch = iterations_per_epoch(self.n_train // processes, c.batch_size)
            unit = "GPUs" if self.gpu_count > 1 else "processes"
            self.derived.setText(
                f"{_count(self.n_train, 'training image')} ÷ (batch {c.batch_size} × {processes} {unit} = "
                f"effective batch {c.batch_size * processes}) = {_count(per_epoch, 'iteration')} per epoch; "
                f"{_count(c.epochs, 'epoch')} = {_count(per_epoch * c.epochs, 'iteration')}")
        elif self.n_train:
            per_epoch = iterations_per_epoch(self.n_train, c.batch_size)
            self.derived.setText(
                f"{_count(self.n_train, 'training image')} ÷ batch {c.batch_size} = "
                f"{_count(per_epoch, 'iteration')} per epoch; {_count(c.epochs, 'epoch')} = "
                f"{_count(per_epoch * c.epochs, 'iteration')}")
        else:
            self.derived.setText("Open an image folder to see iterations per epoch.")
        self.notes_label.setText("\n".join(c.notes()))
        self._show_problems()

    def problems_by_setting(self) -> dict[str, list[str]]:
        """``problems()`` by the setting each is shown beside; "" for those that belong to none."""
        config = self.config()
        keyed = {value: path for path, value in _field_problems(config).items()}
        out: dict[str, list[str]] = {}
        for problem in self.problems():
            path = keyed.get(problem) or next((row for words, row in PROBLEM_ROWS if words in problem), "")
            out.setdefault(path if path in self.widgets else "", []).append(problem)
        return out

    def _show_problems(self) -> None:
        """Each problem beside its setting (while that row is shown), the others at the foot."""
        placed = self.problems_by_setting() if self.engine_loaded else {}
        advanced = self.show_advanced.isChecked()
        hidden = {id(w) for _f, w in self._advanced_rows} if not advanced else set()
        left = list(placed.get("", []))
        for path, label in self.problem_labels.items():
            problems = placed.get(path, [])
            widget = self.widgets[path]
            row_shown = id(widget) not in hidden and id(widget.parentWidget()) not in hidden
            label.setText("\n".join(problems) if row_shown else "")
            if not row_shown:
                left.extend(problems)
            self._forms[path].setRowVisible(label, bool(problems) and row_shown)
        self.problems_label.setText("\n".join("• " + p for p in left))


def _cuda_device_count() -> int:
    """CUDA GPUs the window can train on at once: torchrun needs a Python interpreter, which a
    packaged (frozen) app does not have, so there it counts as one."""
    import sys

    import torch

    if getattr(sys, "frozen", False) or not torch.cuda.is_available():
        return 0
    return torch.cuda.device_count()


def _count(n: int, singular: str) -> str:
    """"1 iteration", "2 iterations", "1,000 iterations"."""
    return f"{n:,} {singular}{'' if n == 1 else 's'}"


def _field_problems(config: TrainConfig) -> dict[str, str]:
    """The per-field problems of the settings and the augmentation settings, by dotted path."""
    from workbench.setting import problems_of

    out = dict(problems_of(config))
    if isinstance(config.augment, AugmentConfig):
        out.update({_AUGMENT + k: v for k, v in problems_of(config.augment).items()})
    return out


def _value(config: TrainConfig, path: str):
    if path.startswith(_AUGMENT):
        return getattr(config.augment, path[len(_AUGMENT):])
    return getattr(config, path)


def format_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
