"""One input widget per setting, made from its :class:`~workbench.setting.Setting`.

A bool is a check box, a string with choices a combo box, a number a spin box holding only values
in the setting's range, an optional number a spin box with a check box to unset it, and free text
a line edit (with a file chooser where the setting names a file filter); the model a
:class:`~workbench.gui.model_picker.ModelPicker`. :func:`read`,
:func:`write` and :func:`edited` treat them all alike.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from workbench.setting import Setting

_INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int
_UNBOUNDED = 1e9  # a spin box needs a range; a setting without one gets this


def make_widget(s: Setting) -> QWidget:
    if s.name == "model":  # the registry's models, then any of timm's from a searchable list
        from workbench.gui.model_picker import ModelPicker

        return ModelPicker(s)
    if s.kind is bool:
        widget: QWidget = QCheckBox(s.label)
    elif s.options():
        widget = QComboBox()
        for item in s.options():
            widget.addItem(item, item)
    elif s.kind is str:
        return TextField(s)
    elif s.optional:
        return OptionalNumber(s)
    else:
        widget = number_box(s)
    _describe(widget, s)
    return widget


def number_box(s: Setting) -> QAbstractSpinBox:
    """A spin box that cannot hold a value outside the setting's range."""
    if s.kind is int:
        box: QAbstractSpinBox = QSpinBox()
        low = -_INT_LIMIT if s.min is None else int(s.min) + (0 if s.min_inclusive else 1)
        high = _INT_LIMIT if s.max is None else int(s.max) - (0 if s.max_inclusive else 1)
        box.setRange(max(low, -_INT_LIMIT), min(high, _INT_LIMIT))
    else:
        box = QDoubleSpinBox()
        box.setDecimals(s.decimals)
        tick = 10.0 ** -s.decimals  # the nearest shown value inside an open bound
        box.setRange(-_UNBOUNDED if s.min is None else s.min + (0 if s.min_inclusive else tick),
                     _UNBOUNDED if s.max is None else s.max - (0 if s.max_inclusive else tick))
    box.setSingleStep(s.step)
    if s.log_scale:  # e.g. 0.001 steps by 0.0001, 0.1 by 0.01
        box.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    return box


class OptionalNumber(QWidget):
    """A number that may be unset (None): the check box switches it on."""

    edited = Signal()

    def __init__(self, s: Setting):
        super().__init__()
        self.use = QCheckBox()
        self.use.setAccessibleName(f"Use {s.noun}")
        self.use.setToolTip(f"Unticked: no {s.noun}.")
        self.box = number_box(s)
        self.box.setEnabled(False)
        _describe(self.box, s)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.use)
        layout.addWidget(self.box, 1)
        self.use.toggled.connect(self.box.setEnabled)
        self.use.toggled.connect(self.edited)
        self.box.valueChanged.connect(self.edited)

    def value(self) -> float | None:
        return self.box.value() if self.use.isChecked() else None

    def setValue(self, value: float | None) -> None:  # noqa: N802 (Qt's spelling, as the spin boxes)
        self.use.setChecked(value is not None)
        if value is not None:
            self.box.setValue(value)


class TextField(QWidget):
    """Free text, empty meaning None; with a "…" file chooser when the setting has a file filter."""

    edited = Signal()

    def __init__(self, s: Setting):
        super().__init__()
        self.setting = s
        self.line = QLineEdit()
        _describe(self.line, s)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        self.line.textChanged.connect(self.edited)
        if s.file_filter:
            self.line.setPlaceholderText("optional")
            browse = QToolButton()
            browse.setText("…")
            browse.setAccessibleName(f"Choose {s.noun}")
            browse.setToolTip(f"Choose {s.noun}")
            browse.clicked.connect(self._choose)
            layout.addWidget(browse)

    def value(self) -> str | None:
        text = self.line.text().strip()
        return text or (None if self.setting.optional else "")

    def setValue(self, value: str | None) -> None:  # noqa: N802
        self.line.setText(value or "")

    def _choose(self) -> None:
        s = self.setting
        path, _ = QFileDialog.getOpenFileName(self, f"Choose {s.noun}", "", s.file_filter)
        if path:
            self.line.setText(path)


def read(widget: QWidget) -> Any:
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentData()
    return widget.value()


def write(widget: QWidget, value: Any) -> None:
    if isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QComboBox):
        index = widget.findData(value)  # a value this version does not offer: the first choice
        widget.setCurrentIndex(index if index >= 0 else 0)
    elif isinstance(widget, QSpinBox):  # clamped: a C int cannot take a larger seed
        widget.setValue(min(max(value, widget.minimum()), widget.maximum()))
    else:
        widget.setValue(value)


def edited(widget: QWidget):
    """The signal fired when the user changes the widget's value."""
    if isinstance(widget, QCheckBox):
        return widget.toggled
    if isinstance(widget, QComboBox):
        return widget.currentIndexChanged
    if isinstance(widget, QAbstractSpinBox):
        return widget.valueChanged
    return widget.edited


def _describe(widget: QWidget, s: Setting) -> None:
    widget.setAccessibleName(s.label)
    allowed = "" if s.options() or s.kind is bool else s.allowed_text()
    widget.setToolTip(f"{s.help}\nAllowed: {allowed}." if allowed else s.help)
