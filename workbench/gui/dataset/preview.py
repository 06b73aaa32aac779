"""Augmentation preview: the training images as the model will see them under the current settings."""

from __future__ import annotations

import copy
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workbench.config import TrainConfig
from workbench.gui.common import pixmap_from_array
from workbench.gui.dataset.panel import WARNING_STYLE
from workbench.gui.offthread import run_in_pool

CELL_PX = 88  # the source and 8 variants in one row beside the settings at 1400 px
CELL_SPACING = 8
DEBOUNCE_MS = 150
NO_SAMPLES = "No training images yet: choose an image folder to preview augmentation."


def augmentation_preview(*args, **kwargs) -> dict:
    """:func:`workbench.data.preview.augmentation_preview`, imported on first use: it needs torch,
    which the window loads in the background after it appears (the window's preview waits for
    that load: ``waiting_for``)."""
    from workbench.data.preview import augmentation_preview as make

    return make(*args, **kwargs)


def _make_preview(kwargs: dict) -> dict:
    try:
        # Looked up as a module global at call time, so tests can wrap it.
        return augmentation_preview(**kwargs)
    except Exception as exc:  # the exception's class says more than its text alone
        raise RuntimeError(f"{exc.__class__.__name__}: {exc}") from exc


class _ImageCell(QWidget):
    """One picture with a caption under it."""

    def __init__(self, caption: str = "", highlight: bool = False):
        super().__init__()
        self.image = QLabel()
        self.image.setFixedSize(CELL_PX, CELL_PX)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        border = "2px solid palette(highlight)" if highlight else "1px solid palette(mid)"
        self.image.setStyleSheet(f"QLabel {{ background: palette(midlight); border: {border}; }}")
        self.caption = QLabel(caption)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setFixedWidth(CELL_PX)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.image)
        layout.addWidget(self.caption)

    def show_array(self, array, description: str) -> None:
        pixmap = pixmap_from_array(array)
        inner = CELL_PX - 4  # inside the border
        factor = inner // max(pixmap.width(), 1)
        if factor >= 2:
            # Small training images are enlarged by whole pixels, unsmoothed: what the model gets.
            pixmap = pixmap.scaled(pixmap.width() * factor, pixmap.height() * factor,
                                   Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.FastTransformation)
        elif pixmap.width() != inner:
            pixmap = pixmap.scaled(inner, inner, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
        self.image.setPixmap(pixmap)
        self.image.setAccessibleName(description)
        self.image.setToolTip(description)

    def clear(self) -> None:
        self.image.clear()


class AugmentationPreview(QWidget):
    """Shows one training image under several augmentations, and a random augmented batch.

    Every change (samples, settings, Regenerate) is debounced and computed on a pool thread;
    results of requests that were superseded meanwhile are dropped.
    """

    previewUpdated = Signal()

    def __init__(self, parent: QWidget | None = None, *, variants: int = 8, random_count: int = 8):
        super().__init__(parent)
        self.setAccessibleName("Augmentation preview")
        self.last_result: dict | None = None
        self._variants = variants
        self._random_count = random_count
        self._samples: list[tuple[str, int]] = []
        self._class_names: list[str] = []
        self._config = TrainConfig()
        self._seed = 0
        self._request = 0  # the newest request; results for older ones are stale
        # What the preview waits for before it can start (None: nothing); the window sets it while
        # torch loads and calls resume() after.
        self.waiting_for: Callable[[], str | None] = lambda: None
        self._started = 0  # the request the running (or last) job computes
        self._running = False

        # Coalesces a burst of changes (typing in a spin box) into one preview.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._start)

        title = QLabel("Augmentation preview")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        title.setFont(font)
        self._status = QLabel()
        self._status.setObjectName("status")
        self._regenerate = QPushButton("Regenerate")
        self._regenerate.setAccessibleName("Regenerate previews")
        self._regenerate.setToolTip("Draw new random augmentations and a new random batch of "
                                    "training images with the current settings")
        self._regenerate.clicked.connect(self.regenerate)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(12)
        top.addWidget(self._regenerate)
        top.addSpacing(8)
        top.addWidget(self._status)
        top.addStretch(1)

        self._note = QLabel()
        self._note.setObjectName("note")
        self._note.setWordWrap(True)
        self._note.setStyleSheet(WARNING_STYLE)
        self._note.hide()

        self._variants_title = QLabel()
        self._random_title = QLabel()
        for label in (self._variants_title, self._random_title):
            bold = label.font()
            bold.setBold(True)
            label.setFont(bold)
        self._source_cell = _ImageCell("original", highlight=True)
        self._variant_cells = [_ImageCell(f"augmented {i + 1}") for i in range(variants)]
        self._random_cells = [_ImageCell() for _ in range(random_count)]
        self._variant_grid = QGridLayout()
        self._random_grid = QGridLayout()
        for grid in (self._variant_grid, self._random_grid):
            grid.setHorizontalSpacing(CELL_SPACING)
            grid.setVerticalSpacing(CELL_SPACING)
        self._columns = 0
        self._reflow(1 + variants)
        grid_widget = QWidget()
        grid_layout = QVBoxLayout(grid_widget)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.addWidget(self._variants_title)
        grid_layout.addLayout(self._variant_grid)
        grid_layout.addSpacing(12)
        grid_layout.addWidget(self._random_title)
        grid_layout.addLayout(self._random_grid)
        grid_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(grid_widget)
        scroll.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._pictures = scroll

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self._note)
        layout.addWidget(scroll, 1)
        layout.addStretch(0)  # keeps the title and note at the top while the pictures are hidden
        self._show_empty(NO_SAMPLES, warning=False)

    # --- public API --------------------------------------------------------------------------

    def set_samples(self, samples: list[tuple[str, int]], class_names: list[str]) -> None:
        """Preview these training ``(path, class_index)`` samples; ``class_names`` label them."""
        samples, class_names = list(samples), list(class_names)
        if (samples, class_names) == (self._samples, self._class_names):
            return  # the window calls this on every settings edit; redo work only on a change
        self._samples, self._class_names = samples, class_names
        self._schedule()

    def set_config(self, config: TrainConfig) -> None:
        """Preview under ``config``'s augmentation and image size (the seed is kept, so a
        changed option is seen on the same draw). Settings the preview does not show (epochs,
        learning rate, …) change nothing and start no work."""
        if (config.augment, config.image_size) == (
                self._config.augment, self._config.image_size):
            return
        self._config = copy.deepcopy(config)  # the form may keep editing its own object
        self._schedule()

    def resume(self) -> None:
        """What ``waiting_for`` named is there: make the preview asked for meanwhile."""
        self._start()

    def regenerate(self) -> None:
        """New random draw with the current settings."""
        self._seed += 1
        self._schedule()

    def sizeHint(self) -> QSize:
        # Room for the source and its variants in one row, as the layout is meant to be read.
        return QSize((1 + self._variants) * (CELL_PX + CELL_SPACING) + 40, 520)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # Wrap the rows of pictures to the width instead of making the user scroll sideways.
        self._reflow(max(1, (self.width() - 40 + CELL_SPACING) // (CELL_PX + CELL_SPACING)))

    def _reflow(self, columns: int) -> None:
        columns = min(columns, max(1 + self._variants, self._random_count))
        if columns == self._columns:
            return
        self._columns = columns
        for grid, cells in ((self._variant_grid, [self._source_cell, *self._variant_cells]),
                            (self._random_grid, self._random_cells)):
            for cell in cells:
                grid.removeWidget(cell)
            for i, cell in enumerate(cells):
                grid.addWidget(cell, i // columns, i % columns)
            for column in range(grid.columnCount()):
                grid.setColumnStretch(column, 0)
            grid.setColumnStretch(columns, 1)  # keeps the pictures packed to the left

    # --- scheduling --------------------------------------------------------------------------

    def _schedule(self) -> None:
        self._request += 1
        self._timer.start()  # restarting the timer is what coalesces rapid requests

    def _start(self) -> None:
        if self._running or self._started == self._request:
            return  # _on_finished starts the newest request once the running job is done
        self._started = self._request
        if not self._samples:
            self._show_empty(NO_SAMPLES, warning=False)
            return
        problems = self._config.augment.problems()
        if problems:
            self._show_empty("Fix the augmentation settings to see a preview: " + "; ".join(problems) + ".")
            return
        waiting = self.waiting_for()
        if waiting:
            self._started = -1  # not started: resume() starts the newest request
            self._status.setText(f"The preview appears once {waiting}…")
            return
        self._running = True
        self._status.setText("Generating…")
        kwargs = dict(samples=self._samples, config=copy.deepcopy(self._config),
                      variants=self._variants, random_count=self._random_count, seed=self._seed)
        request = self._request
        # Not dropped when stale: a superseded result still tells _on_finished to start the newest.
        run_in_pool(lambda: _make_preview(kwargs), lambda result: self._on_finished(request, result),
                    lambda message: self._on_failed(request, message), owner=self)

    def _on_finished(self, request: int, result: dict) -> None:
        self._running = False
        if request != self._request:
            self._start()  # superseded while it ran: compute the newest instead of drawing this
            return
        self._status.setText("")
        self._regenerate.setEnabled(True)
        self._draw(result)
        self.last_result = result
        self.previewUpdated.emit()

    def _on_failed(self, request: int, message: str) -> None:
        self._running = False
        if request != self._request:
            self._start()
            return
        self._show_empty(f"Could not make a preview: {message}")

    # --- drawing -----------------------------------------------------------------------------

    def _show_empty(self, message: str, warning: bool = True) -> None:
        self._status.setText("")
        self._regenerate.setEnabled(bool(self._samples))
        # Waiting for a folder is normal, not a problem: no warning colours for it.
        self._note.setStyleSheet(WARNING_STYLE if warning else "QLabel { color: palette(window-text); }")
        self._note.setText(message)
        self._note.show()
        self._pictures.hide()
        self.last_result = None

    def _draw(self, result: dict) -> None:
        if result["source"] is None:
            self._show_empty("None of the training images could be decoded.")
            return
        augment = self._config.augment
        if not augment.is_active:
            self._note.setStyleSheet(WARNING_STYLE)
            self._note.setText("Augmentation is off: the model trains on the images exactly as shown.")
            self._note.show()
        else:
            self._note.hide()
        source_name = self._class_name(result.get("source_class"))
        augmentations = _count(len(result["variants"]), "augmentation")
        self._variants_title.setText(f"Same image ({source_name}), {augmentations}")
        self._source_cell.show_array(result["source"], f"Original {source_name} image")
        for i, cell in enumerate(self._variant_cells):
            if i < len(result["variants"]):
                cell.show_array(result["variants"][i], f"Augmented copy {i + 1} of the {source_name} image")
                cell.show()
            else:
                cell.hide()
        random = result["random"]
        mixes = result.get("random_mix") or [[] for _ in random]
        mixing = any(mixes)
        how = ("augmented and mixed as one training batch (MixUp / CutMix)" if mixing
               else "augmented once each")
        self._random_title.setText(f"{_count(len(random), 'random training image')}, {how}")
        items = list(zip(random, mixes, strict=True))
        for cell, item in zip(self._random_cells, items + [None] * len(self._random_cells), strict=False):
            if item is None:
                cell.hide()
                continue
            (image, label), mix = item
            name = self._class_name(label)
            if len(mix) > 1:  # a blend of two classes: each with its share of the target
                parts = [f"{self._class_name(k)} {share:.0%}" for k, share in mix]
                caption, description = " + ".join(parts), "Mixed image: " + ", ".join(parts)
            else:
                caption, description = name, f"Augmented {name} image"
            metrics = cell.caption.fontMetrics()
            cell.caption.setText(metrics.elidedText(caption, Qt.TextElideMode.ElideRight, CELL_PX))
            cell.caption.setToolTip(description)
            cell.show_array(image, description)
            cell.show()
        self._pictures.show()

    def _class_name(self, index: int | None) -> str:
        if index is not None and 0 <= index < len(self._class_names):
            return self._class_names[index]
        return f"class {index}" if index is not None else "unknown class"


def _count(n: int, singular: str) -> str:
    return f"{n} {singular}{'' if n == 1 else 's'}"
