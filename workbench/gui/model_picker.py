"""The model setting's input: the built-in models first, then any timm architecture from a
searchable list.

timm has 1,300+ architectures: the list shows their names at once (read off the GUI thread, as
importing timm takes seconds), and the parameter count of the one selected, built on the meta
device off the GUI thread (a count per architecture for all of them would take minutes).
"""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.offthread import LatestRequest, run_in_pool
from workbench.setting import Setting

PREFIX = "timm:"  # workbench.timm_models.PREFIX; spelled here so the form does not import torch
_COUNT_CLASSES = 10  # the head's size barely moves the count; the form shows the exact one


def _format_count(count: int) -> str:
    return f"{count:,} parameters" + (f" ({count / 1e6:.1f} M)" if count >= 1e6 else "")


class ModelPicker(QWidget):
    """A combo box of the models (built-in first, then timm ones chosen so far) and a
    "timm…" button that opens :class:`TimmModelDialog`. ``value()`` is the model name."""

    edited = Signal()

    def __init__(self, s: Setting):
        super().__init__()
        self.setting = s
        self.combo = QComboBox()
        self.combo.setAccessibleName(s.label)
        self.combo.setToolTip(s.help)
        for name in s.options():
            self.combo.addItem(name, name)
        self._builtin = self.combo.count()
        self.more = QToolButton()
        self.more.setText("timm…")
        self.more.setAccessibleName("Choose a timm model")
        self.more.setToolTip("Choose any of the timm library's architectures (searchable list)")
        self.more.clicked.connect(self.choose_timm_model)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.more)
        self.combo.currentIndexChanged.connect(self.edited)
        self.dialog: TimmModelDialog | None = None

    def value(self) -> str:
        return self.combo.currentData()

    def setValue(self, value: str) -> None:  # noqa: N802 (Qt's spelling, as the other inputs)
        index = self.combo.findData(value)
        if index < 0 and isinstance(value, str) and value.startswith(PREFIX):
            index = self._add_timm(value)
        self.combo.setCurrentIndex(max(index, 0))  # a name this version does not offer: the first

    # The combo box's own calls, so code (and tests) that pick a model by name keep working.
    def findData(self, value) -> int:  # noqa: N802
        return self.combo.findData(value)

    def setCurrentIndex(self, index: int) -> None:  # noqa: N802
        self.combo.setCurrentIndex(index)

    def currentData(self):  # noqa: N802
        return self.combo.currentData()

    def _add_timm(self, name: str) -> int:
        if self.combo.count() == self._builtin:
            self.combo.insertSeparator(self._builtin)
        self.combo.addItem(name, name)
        return self.combo.count() - 1

    def choose_timm_model(self) -> None:
        """Open the searchable list; the model chosen there becomes the value."""
        current = self.value() if str(self.value()).startswith(PREFIX) else None
        self.dialog = TimmModelDialog(self, current=current)
        self.dialog.accepted.connect(lambda: self._chosen(self.dialog.chosen()))
        self.dialog.open()

    def _chosen(self, name: str | None) -> None:
        if name:
            self.setValue(name)


def _timm_names() -> list[str]:
    from workbench import timm_models

    # Read here, on a pool thread, what checking a timm name reads (the form checks its settings
    # on the GUI thread at every edit): importing timm and listing its weights takes seconds.
    timm_models.has_pretrained_weights(timm_models.PREFIX + "resnet18")
    return [timm_models.PREFIX + n for n in timm_models.architectures()]


def _count(name: str) -> int:
    from workbench.models import parameter_count

    return parameter_count(name, _COUNT_CLASSES)


class TimmModelDialog(QDialog):
    """Search timm's architectures by name; the selected one's parameter count is computed on a
    pool thread and kept, so going back to it is instant."""

    namesLoaded = Signal()
    countShown = Signal(str)  # the model whose count (or failure) is now shown

    def __init__(self, parent: QWidget | None = None, current: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("Choose a timm model")
        self.resize(460, 520)
        self.counts: dict[str, str] = {}
        self._current = current
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search, e.g. convnext, efficientnet_b, vit_small")
        self.search.setAccessibleName("Search timm models")
        self.search.setClearButtonEnabled(True)
        self.names = QStringListModel(self)
        self.filtered = QSortFilterProxyModel(self)
        self.filtered.setSourceModel(self.names)
        self.filtered.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.list = QListView()
        self.list.setModel(self.filtered)
        self.list.setAccessibleName("timm models")
        self.list.setUniformItemSizes(True)  # 1,300+ rows: no per-row size computation
        self.status = QLabel("Reading timm's models…")
        self.status.setAccessibleName("timm model details")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.search.textChanged.connect(self._filter)
        self.list.doubleClicked.connect(lambda _index: self.accept())
        self.list.selectionModel().currentChanged.connect(lambda index, _old: self._selected(index))
        self._count_request = LatestRequest()
        run_in_pool(_timm_names, self._names_loaded, self._names_failed, owner=self)

    def chosen(self) -> str | None:
        index = self.list.currentIndex()
        return index.data() if index.isValid() else None

    def _names_loaded(self, names: list[str]) -> None:
        self.names.setStringList(names)
        self.status.setText(f"{len(names):,} timm architectures. Select one to see its size.")
        if self._current in names:
            self.list.setCurrentIndex(self.filtered.index(names.index(self._current), 0))
        self.namesLoaded.emit()

    def _names_failed(self, error: str) -> None:
        self.status.setText(f"timm's models are not available: {error}")
        self.namesLoaded.emit()

    def _filter(self, text: str) -> None:
        self.filtered.setFilterFixedString(text.strip())
        shown = self.filtered.rowCount()
        if shown == 1 or (shown and not self.list.currentIndex().isValid()):
            self.list.setCurrentIndex(self.filtered.index(0, 0))
        elif not shown:
            self.status.setText(f"No timm model matches “{text.strip()}”.")
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)

    def _selected(self, index) -> None:
        name = index.data() if index.isValid() else None
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(name))
        if not name:
            return
        if name in self.counts:
            self._show_count(name, self.counts[name])
            return
        self.status.setText(f"{name}: counting parameters…")
        run_in_pool(lambda: _format_count(_count(name)),
                    lambda text: self._counted(name, text),
                    lambda error: self._counted(name, f"cannot be built here ({error})"),
                    owner=self, wanted=self._count_request.next())

    def _counted(self, name: str, text: str) -> None:
        self.counts[name] = text
        self._show_count(name, text)

    def _show_count(self, name: str, text: str) -> None:
        self.status.setText(f"{name}: {text}")
        self.countShown.emit(name)
