"""The results of a finished run: summary, confusion matrix, per-class metrics, misclassified images.

Everything shown comes from the run's summary dict (``summary.json`` / the ``run_end`` event), so the
same view serves a run that just ended and one reopened from disk. Images are decoded on a private
thread pool; the GUI thread only turns the small decoded arrays into pixmaps.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QEvent, QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.data.decode import load_image
from workbench.engine.trainer import Trainer
from workbench.gui.common import bold_label, pixmap_from_array

THUMBNAIL_SIZE = 96
_LARGE_SIZE = 448
_DASH = "—"
# Shading hues for the confusion matrix; blended into the palette's base colour so the same
# hues work on light and dark themes.
_GOOD = QColor(46, 160, 67)
_BAD = QColor(215, 58, 73)
_ROLE_PATH = Qt.ItemDataRole.UserRole


def _pct(value) -> str:
    return _DASH if value is None else f"{value:.1%}"


def _format_duration(seconds) -> str:
    if seconds is None:
        return _DASH
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _blend(base: QColor, hue: QColor, amount: float) -> QColor:
    a = max(0.0, min(1.0, amount))
    return QColor(round(base.red() * (1 - a) + hue.red() * a),
                  round(base.green() * (1 - a) + hue.green() * a),
                  round(base.blue() * (1 - a) + hue.blue() * a))


def _text_colour_for(background: QColor) -> QColor:
    # Relative luminance decides black or white text, so shaded cells stay readable whatever
    # the theme's own text colour is.
    lum = 0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF()
    return QColor(Qt.GlobalColor.black) if lum > 0.45 else QColor(Qt.GlobalColor.white)


def cell_colour(base: QColor, share: float, diagonal: bool) -> QColor:
    """Background of a confusion-matrix cell holding ``share`` (0..1) of its true class's images.

    An empty cell keeps the base colour; otherwise the intensity starts visibly above zero so a
    single stray prediction still stands out.
    """
    if share <= 0:
        return QColor(base)
    return _blend(base, _GOOD if diagonal else _BAD, 0.15 + 0.7 * share)


class _DecodeSignals(QObject):
    """Carries decoded images from pool threads back to the GUI thread (queued by Qt)."""

    decoded = Signal(int, int, object, str)  # batch id, row, HxWx3 uint8 array or None, error


class _DecodeJob(QRunnable):
    def __init__(self, signals: _DecodeSignals, batch: int, row: int, path: str, size: int,
                 cancelled: threading.Event):
        super().__init__()
        # The job keeps its own reference to the parentless signals object, so emitting stays
        # safe even if the view that started it is gone by the time the decode finishes.
        self._signals, self._batch, self._row = signals, batch, row
        self._path, self._size, self._cancelled = path, size, cancelled

    def run(self) -> None:
        if self._cancelled.is_set():
            return
        try:
            array, error = load_image(self._path, self._size), ""
        except Exception as exc:  # any unreadable file becomes a placeholder, never a crash
            array, error = None, str(exc) or type(exc).__name__
        if not self._cancelled.is_set():
            self._signals.decoded.emit(self._batch, self._row, array, error)


def _placeholder(size: int, palette: QPalette, broken: bool) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(palette.color(QPalette.ColorRole.Button))
    if broken:
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 3))
        m = size // 4
        painter.drawLine(m, m, size - m, size - m)
        painter.drawLine(size - m, m, m, size - m)
        painter.end()
    return pixmap


def _readonly_table(rows: int, cols: int) -> QTableWidget:
    table = QTableWidget(rows, cols)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setWordWrap(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


class ImageDialog(QDialog):
    """One validation image at a larger size, decoded off the GUI thread like the thumbnails."""

    def __init__(self, path: str, caption: str, pool: QThreadPool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(caption)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.image_label = QLabel("Loading…")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(_LARGE_SIZE, _LARGE_SIZE)
        self.image_label.setAccessibleName("Image")
        # The model saw the centre square of each image, so that is what is shown here too.
        note = QLabel(f"{caption}\n{path}\n(centre square, as the model saw it)")
        note.setWordWrap(True)
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close")
        close.setToolTip("Close this image")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image_label, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self._cancelled = threading.Event()
        self._signals = _DecodeSignals()
        self._signals.decoded.connect(self._on_decoded)
        size = round(_LARGE_SIZE * self.devicePixelRatioF())
        pool.start(_DecodeJob(self._signals, 0, 0, path, size, self._cancelled))

    def _on_decoded(self, _batch: int, _row: int, array, error: str) -> None:
        if array is None:
            self.image_label.setText(f"Could not open this image:\n{error}")
            return
        pixmap = pixmap_from_array(array)
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        self.image_label.setPixmap(pixmap)

    def done(self, result: int) -> None:
        self._cancelled.set()
        super().done(result)


class ResultsView(QWidget):
    """Shows a run summary: headline, key numbers, confusion matrix, per-class table, mistakes."""

    thumbnailsLoaded = Signal()  # every gallery thumbnail is in (decoded or marked unreadable)

    DETAIL_KEYS = ("Best epoch", "Validation loss", "Validation accuracy", "Epochs run",
                   "Training accuracy", "Total time", "Device", "Images trained", "Dataset size",
                   "Why it stopped")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Results")
        self._summary: dict | None = None
        self._matrix: list[list[int]] = []
        self._pool = QThreadPool(self)
        # A few threads are plenty for 96 px thumbnails and leave cores to a training that may run.
        self._pool.setMaxThreadCount(max(1, min(4, QThreadPool.globalInstance().maxThreadCount())))
        self._signals = _DecodeSignals()
        self._signals.decoded.connect(self._on_thumbnail)
        self._batch = 0
        self._cancelled = threading.Event()
        self._pending = 0

        self._build_summary_block()
        self._build_tables()
        self._build_gallery()
        self._build_layout()
        self.clear()

    def _build_summary_block(self) -> None:
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setAccessibleName("Run summary")
        self.summary_label.setToolTip("How the run ended and its best epoch")
        font = self.summary_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.summary_label.setFont(font)

        self.detail_labels: dict[str, QLabel] = {}
        self._details = QGridLayout()
        self._details.setHorizontalSpacing(8)
        self._details.setVerticalSpacing(2)
        for i, key in enumerate(self.DETAIL_KEYS):
            name, value = QLabel(f"{key}:"), QLabel(_DASH)
            name.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(key)
            self.detail_labels[key] = value
            if key == "Why it stopped":  # can be a long error message: give it the whole row
                row, col, span = 3, 0, 5
                value.setWordWrap(True)
            else:
                row, col, span = i // 3, (i % 3) * 2, 1
            self._details.addWidget(name, row, col)
            self._details.addWidget(value, row, col + 1, 1, span)
        for col in (1, 3, 5):
            self._details.setColumnStretch(col, 1)
        self.detail_labels["Images trained"].setToolTip(
            "Training images processed over all epochs, augmented copies included")

    def _build_tables(self) -> None:
        self.matrix_table = _readonly_table(0, 0)
        self.matrix_table.setAccessibleName("Confusion matrix")
        self.matrix_table.setToolTip("Rows: true class. Columns: predicted class. "
                                     "Shading: share of the true class's validation images.")
        # Equal-width columns make the matrix read as a grid; below the minimum width (set per
        # summary from the class names) it scrolls, and longer names are elided in the middle
        # because class names often share a prefix or a suffix.
        self.matrix_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matrix_table.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideMiddle)

        self.class_table = _readonly_table(0, 5)
        self.class_table.setAccessibleName("Per-class metrics")
        self.class_table.setToolTip("Precision, recall and F1 of each class on the validation images")
        self.class_table.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Support"])
        header = self.class_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.class_table.verticalHeader().hide()
        for col, tip in enumerate(("Class folder name",
                                   "Of the images predicted as this class, the share that were it",
                                   "Of the images of this class, the share predicted correctly",
                                   "Harmonic mean of precision and recall",
                                   "Validation images of this class")):
            self.class_table.horizontalHeaderItem(col).setToolTip(tip)

    def _build_gallery(self) -> None:
        self.gallery_label = QLabel()
        self.gallery_label.setWordWrap(True)
        self.gallery_label.setAccessibleName("Misclassified count")
        self.gallery = QListWidget()
        self.gallery.setAccessibleName("Misclassified images")
        self.gallery.setToolTip("Validation images the model got wrong. Double-click one to see it larger.")
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        # Room for a two-line caption; word wrap needs a fixed grid to wrap against.
        self.gallery.setGridSize(QSize(THUMBNAIL_SIZE + 56, THUMBNAIL_SIZE + 42))
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setWordWrap(True)
        self.gallery.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.gallery.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # itemActivated covers double-click and Enter, so the larger view is reachable by keyboard.
        self.gallery.itemActivated.connect(lambda item: self.open_image(self.gallery.row(item)))

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
        tables.addWidget(section("Confusion matrix  (rows: true, columns: predicted)", self.matrix_table))
        tables.addWidget(section("Per-class metrics", self.class_table))
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(tables)
        body.addWidget(section("Misclassified validation images", self.gallery_label, self.gallery))
        # When the window grows, the gallery gets the new room; the tables keep their fitted height.
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        for splitter, what in ((tables, "the two tables"), (body, "the tables and the gallery")):
            splitter.setChildrenCollapsible(False)
            # The handle is the draggable control; a tooltip on the splitter itself would show
            # over every child that has none.
            splitter.handle(1).setAccessibleName(f"Divider between {what}")
            splitter.handle(1).setToolTip(f"Drag to share the space between {what}")
        self._tables, self._body, self._needs_fit = tables, body, False

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addLayout(self._details)
        layout.addWidget(body, 1)

    # -- public API ------------------------------------------------------------------------

    def show_summary(self, summary: dict) -> None:
        """Show ``summary`` (the dict of ``summary.json`` / the ``run_end`` event), replacing any other."""
        self.clear()
        self._summary = summary
        self._fill_summary(summary)
        names = list(summary.get("class_names") or [])
        self._matrix = [list(map(int, row)) for row in summary.get("confusion_matrix") or []]
        self._fill_matrix(names)
        self._fill_class_table(summary.get("per_class") or [])
        self._fill_gallery(summary)
        self._needs_fit = True
        if self.isVisible():
            self._fit_tables()

    def clear(self) -> None:
        """Empty every part of the view and drop thumbnails still being decoded."""
        self._cancel_thumbnails()
        self._summary, self._matrix = None, []
        self.summary_label.setText("No run to show yet.")
        for label in self.detail_labels.values():
            label.setText(_DASH)
        self.matrix_table.clear()
        self.matrix_table.setRowCount(0)
        self.matrix_table.setColumnCount(0)
        self.class_table.setRowCount(0)
        self.gallery.clear()
        self.gallery_label.setText("")

    def open_image(self, row: int) -> ImageDialog | None:
        """Open gallery item ``row`` larger in a non-modal dialog; returns the dialog."""
        item = self.gallery.item(row)
        if item is None:
            return None
        dialog = ImageDialog(item.data(_ROLE_PATH), item.text(), self._pool, self)
        dialog.show()
        return dialog

    @property
    def summary(self) -> dict | None:
        """The summary on show, or None after :meth:`clear`."""
        return self._summary

    @property
    def thumbnails_pending(self) -> int:
        """How many gallery thumbnails are still being decoded."""
        return self._pending

    def showEvent(self, event) -> None:  # Qt override
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

    # -- summary ---------------------------------------------------------------------------

    def _fill_summary(self, s: dict) -> None:
        status = str(s.get("status") or "").capitalize()
        line = Trainer.one_line_summary(s)
        self.summary_label.setText(f"{status} — {line}" if status else line)
        best = s.get("best_metrics") or {}
        d = self.detail_labels
        d["Best epoch"].setText(str(s["best_epoch"]) if s.get("best_epoch") else _DASH)
        d["Validation loss"].setText(f"{best['val_loss']:.4f}" if "val_loss" in best else _DASH)
        d["Validation accuracy"].setText(_pct(best.get("val_acc")))
        d["Training accuracy"].setText(_pct(best.get("train_acc")))
        d["Epochs run"].setText(f"{s.get('stopped_epoch', 0)} of {s.get('epochs', '?')} planned")
        d["Total time"].setText(_format_duration(s.get("total_seconds")))
        device, name = s.get("device") or "", s.get("device_name") or ""
        # device_name already says "CPU (…)" on the CPU; the device string only adds to a GPU's name.
        if name and device and device.split(":")[0].lower() not in name.lower():
            name = f"{name} ({device})"
        d["Device"].setText(name or device or _DASH)
        images = s.get("total_train_images")
        d["Images trained"].setText(f"{images:,}" if images is not None else _DASH)
        d["Dataset size"].setText(f"{s.get('n_train', 0):,} train / {s.get('n_val', 0):,} validation")
        d["Why it stopped"].setText(s.get("stop_reason") or _DASH)

    # -- confusion matrix ------------------------------------------------------------------

    def _fill_matrix(self, names: list[str]) -> None:
        k = len(self._matrix)
        if len(names) != k:  # a summary without names still shows its numbers
            names = [str(i) for i in range(k)]
        table = self.matrix_table
        table.setRowCount(k)
        table.setColumnCount(k)
        table.setHorizontalHeaderLabels(names)
        header = table.horizontalHeader()
        widest = max((header.fontMetrics().horizontalAdvance(n) for n in names), default=0)
        header.setMinimumSectionSize(max(48, min(widest + 16, 120)))
        table.setVerticalHeaderLabels(names)
        for i, name in enumerate(names):
            table.horizontalHeaderItem(i).setToolTip(f"Predicted as {name}")
            table.verticalHeaderItem(i).setToolTip(f"True class {name}")
        for r, row in enumerate(self._matrix):
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
                table.setItem(r, c, item)
        self._shade_matrix()

    def _shade_matrix(self) -> None:
        # Separate from filling so a palette change (light/dark switch) can recolour in place.
        base = self.matrix_table.palette().color(QPalette.ColorRole.Base)
        dim = self.matrix_table.palette().color(QPalette.ColorRole.PlaceholderText)
        for r, row in enumerate(self._matrix):
            total = sum(row)
            for c, count in enumerate(row):
                item = self.matrix_table.item(r, c)
                if item is None:
                    continue
                colour = cell_colour(base, count / total if total else 0.0, r == c)
                item.setBackground(colour)
                # Zeros are the usual case off the diagonal; dimming them lets the mistakes stand out.
                item.setForeground(dim if count == 0 else _text_colour_for(colour))

    def changeEvent(self, event: QEvent) -> None:  # Qt override
        if event.type() == QEvent.Type.PaletteChange:
            self._shade_matrix()
        super().changeEvent(event)

    # -- per-class table -------------------------------------------------------------------

    def _fill_class_table(self, per_class: list[dict]) -> None:
        table = self.class_table
        rows = list(per_class)
        if rows:
            n = len(rows)
            rows.append({"class": "Macro average",
                         "precision": sum(r["precision"] for r in per_class) / n,
                         "recall": sum(r["recall"] for r in per_class) / n,
                         "f1": sum(r["f1"] for r in per_class) / n,
                         "support": sum(int(r["support"]) for r in per_class)})
        table.setRowCount(len(rows))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, entry in enumerate(rows):
            cells = [str(entry["class"]), _pct(entry["precision"]), _pct(entry["recall"]),
                     _pct(entry["f1"]), str(int(entry["support"]))]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(right)
                if per_class and r == len(per_class):
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                    item.setToolTip("Unweighted mean over the classes; support is the total")
                table.setItem(r, c, item)

    # -- gallery ---------------------------------------------------------------------------

    def _fill_gallery(self, s: dict) -> None:
        wrong = list(s.get("misclassified") or [])
        total = sum(map(sum, self._matrix))
        errors = total - sum(self._matrix[i][i] for i in range(len(self._matrix)))
        if not self._matrix and not wrong:
            self.gallery_label.setText("No validation results: no epoch finished.")
        elif not wrong and errors == 0:
            self.gallery_label.setText("No validation image was misclassified.")
        else:
            errors = max(errors, len(wrong))
            text = f"{errors} of {total or s.get('n_val', '?')} validation images were misclassified"
            if not wrong:  # e.g. a summary.json written before the list existed
                text += " (the summary lists none of them)"
            elif len(wrong) < errors:  # the trainer keeps only the first few hundred
                text += f" (showing the first {len(wrong)})"
            self.gallery_label.setText(text + ".")
        if not wrong:
            self.thumbnailsLoaded.emit()
            return
        dpr = self.devicePixelRatioF()
        loading = QIcon(_placeholder(THUMBNAIL_SIZE, self.palette(), broken=False))
        self._pending = len(wrong)
        for row, entry in enumerate(wrong):
            confidence = entry.get("confidence")
            conf = f" ({confidence:.1%})" if confidence is not None else ""
            item = QListWidgetItem(loading, f"{entry['true']} → {entry['predicted']}{conf}")
            item.setData(_ROLE_PATH, str(entry["path"]))
            item.setToolTip(f"{entry['path']}\ntrue: {entry['true']}, predicted: {entry['predicted']}"
                            f"{', confidence ' + conf.strip(' ()') if conf else ''}")
            self.gallery.addItem(item)
            self._pool.start(_DecodeJob(self._signals, self._batch, row, str(entry["path"]),
                                        round(THUMBNAIL_SIZE * dpr), self._cancelled))

    def _on_thumbnail(self, batch: int, row: int, array, error: str) -> None:
        if batch != self._batch:  # a thumbnail of a summary that is no longer shown
            return
        item = self.gallery.item(row)
        if item is None:
            return
        if array is None:
            item.setIcon(QIcon(_placeholder(THUMBNAIL_SIZE, self.palette(), broken=True)))
            item.setToolTip(f"{item.toolTip()}\nCould not open: {error}")
        else:
            pixmap = pixmap_from_array(array)
            pixmap.setDevicePixelRatio(self.devicePixelRatioF())
            item.setIcon(QIcon(pixmap))
        self._pending -= 1
        if self._pending == 0:
            self.thumbnailsLoaded.emit()

    def _cancel_thumbnails(self) -> None:
        # Jobs already running finish on their own; queued ones are dropped, and the batch id
        # makes any late result of the old summary ignored.
        self._cancelled.set()
        self._pool.clear()
        self._cancelled = threading.Event()
        self._batch += 1
        self._pending = 0
