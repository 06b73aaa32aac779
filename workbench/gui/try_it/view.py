"""The Try it view: drop or pick images and see what a trained model says about each one.

The model is the window's latest finished run, a past run folder, or any exported file
(:class:`workbench.predict.Predictor` reads them all). Loading and classifying run on a
one-thread pool, so the model is used by one thread at a time and the GUI thread only draws the
small results (thumbnail arrays, label/probability pairs).

Class names and paths come from files: they are shown as plain text through
:func:`workbench.safe_text.printable` (a newline or markup in a name cannot restyle or split a
card). A TorchScript file this installation did not export is only loaded after the user
answers a question naming the risk (:mod:`workbench.torchscript_trust`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.data.decode import load_image
from workbench.gui.common import action_button, bold_label, pixmap_from_array
from workbench.gui.dataset.panel import ERROR_STYLE, WARNING_STYLE
from workbench.gui.offthread import run_in_pool

if TYPE_CHECKING:
    from workbench.predict import Predictor
from workbench.safe_text import printable

THUMBNAIL_PX = 128
CHUNK = 16  # images per pool task: results appear as they are ready, not all at the end
MODEL_FILTER = ("Models (*.pt *.pth *.safetensors *.onnx);;All files (*)")
DROP_HINT = ("Drop images or folders of images here, or click “Add images…”.\n"
             "Each one is shown with the model's most likely classes.")


def classify_images(predictor: Predictor, paths: list[str], top_k: int, tta: bool = False) -> list[dict]:
    """Top-k of each image plus a thumbnail, as plain values; unreadable images get an ``error``.
    ``tta``: each image's prediction averaged with its mirror image's."""
    from workbench.predict import UnreadableImagesError  # loaded with the model, off the GUI thread

    skipped: dict[str, str] = {}
    try:
        predictions = predictor.predict(paths, top_k, on_skip=skipped.__setitem__, tta=tta)
    except UnreadableImagesError:
        predictions = []  # every image was reported through on_skip
    by_image = {p.image: p.top for p in predictions}
    runner_up = {p.image: p.runner_up for p in predictions}
    results = []
    for path in paths:
        entry = {"path": path, "top": by_image.get(path), "thumbnail": None,
                 "error": skipped.get(path), "runner_up": runner_up.get(path)}
        if entry["top"] is not None:
            try:
                entry["thumbnail"] = load_image(path, THUMBNAIL_PX)
            except Exception:  # noqa: BLE001 — read for the model a moment ago; a race at worst
                pass
        elif entry["error"] is None:
            entry["error"] = "could not be read"
        results.append(entry)
    return results


class PredictionCard(QFrame):
    """One image: its thumbnail beside its top-k classes as bars with calibrated probabilities, a
    note naming the runner-up when the best one is below the unsure threshold, and a toggle that
    lays the Grad-CAM heat map of the top class over the thumbnail."""

    heatMapRequested = Signal(object)  # this card: its overlay is not computed yet

    def __init__(self, result: dict, unsure_below: float = 0.0, parent: QWidget | None = None):
        super().__init__(parent)
        self.thumbnail = None  # QPixmap of the image
        self.overlay = None  # QPixmap of the image with its heat map, once computed
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.path = result["path"]
        self.top: list[tuple[str, float]] = list(result["top"] or [])
        self.error: str | None = result["error"]
        self.runner_up: tuple[str, float] | None = result.get("runner_up")
        self.unsure_label = QLabel()
        self.unsure_label.setTextFormat(Qt.TextFormat.PlainText)
        self.unsure_label.setWordWrap(True)
        self.unsure_label.setStyleSheet(WARNING_STYLE)
        self.unsure_label.setAccessibleName("Unsure")
        self.setAccessibleName(f"Prediction for {printable(Path(self.path).name)}")
        self.image = QLabel()
        self.image.setFixedSize(THUMBNAIL_PX, THUMBNAIL_PX)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setStyleSheet("QLabel { background: palette(midlight); }")
        if result["thumbnail"] is not None:
            self.thumbnail = pixmap_from_array(result["thumbnail"])
            self.image.setPixmap(self.thumbnail)
        self.heat_button = QToolButton()
        self.heat_button.setText("Heat map")
        self.heat_button.setCheckable(True)
        self.heat_button.setAccessibleName("Show heat map")
        if self.top:
            self.heat_button.setToolTip(f"Show where in the image the model found its evidence for "
                                        f"{printable(self.top[0][0])} (Grad-CAM)")
        self.heat_button.setEnabled(bool(self.top) and self.thumbnail is not None)
        self.heat_button.toggled.connect(self._toggle_heat_map)
        name = bold_label(printable(Path(self.path).name))
        name.setTextFormat(Qt.TextFormat.PlainText)
        name.setToolTip(printable(self.path))
        column = QVBoxLayout()
        column.addWidget(name)
        self.bars: list[QProgressBar] = []
        if self.error:
            self.message = QLabel(f"Could not classify this file: {printable(self.error)}")
            self.message.setTextFormat(Qt.TextFormat.PlainText)
            self.message.setWordWrap(True)
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setAccessibleName("Error")
            column.addWidget(self.message)
        else:
            grid = QGridLayout()
            grid.setHorizontalSpacing(8)
            for row, (name_, probability) in enumerate(self.top):
                label = printable(name_)
                text = QLabel(label)
                text.setTextFormat(Qt.TextFormat.PlainText)  # "<b>cat" stays those characters
                grid.addWidget(text, row, 0)
                bar = QProgressBar()
                bar.setRange(0, 1000)
                bar.setValue(round(probability * 1000))
                bar.setFormat(f"{probability:.1%}")
                bar.setAccessibleName(f"{label}: {probability:.1%}")
                bar.setToolTip(f"Probability the model gives to {label}")
                grid.addWidget(bar, row, 1)
                self.bars.append(bar)
            grid.setColumnStretch(1, 1)
            column.addLayout(grid)
            column.addWidget(self.unsure_label)
        self.set_unsure_below(unsure_below)
        column.addStretch(1)
        picture = QVBoxLayout()
        picture.addWidget(self.image)
        picture.addWidget(self.heat_button, 0, Qt.AlignmentFlag.AlignHCenter)
        picture.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(picture)
        layout.addLayout(column, 1)

    @property
    def showing_heat_map(self) -> bool:
        return self.heat_button.isChecked() and self.overlay is not None

    def _toggle_heat_map(self, on: bool) -> None:
        if on and self.overlay is None:
            self.heat_button.setText("Computing…")
            self.heatMapRequested.emit(self)
            return
        self.image.setPixmap(self.overlay if on else self.thumbnail)

    def set_heat_map(self, overlay) -> None:
        """The thumbnail with its heat map (uint8 HWC array), shown while the toggle is on."""
        self.overlay = pixmap_from_array(overlay)
        self.heat_button.setText("Heat map")
        if self.heat_button.isChecked():
            self.image.setPixmap(self.overlay)

    def heat_map_failed(self, why: str) -> None:
        self.heat_button.setText("Heat map")
        self.heat_button.setChecked(False)
        self.heat_button.setEnabled(False)
        self.heat_button.setToolTip(f"No heat map: {printable(why)}")

    @property
    def unsure(self) -> bool:
        return not self.unsure_label.isHidden()

    def set_unsure_below(self, threshold: float) -> None:
        """Mark the card unsure when its best probability is below ``threshold``."""
        if self.error or not self.top or self.top[0][1] >= threshold:
            self.unsure_label.hide()
            return
        text = f"Unsure: {self.top[0][1]:.1%} is below {threshold:.0%}"
        if self.runner_up is not None:
            text += f"; runner-up {printable(self.runner_up[0])} ({self.runner_up[1]:.1%})"
        self.unsure_label.setText(text + ".")
        self.unsure_label.show()


class TryItView(QWidget):
    """Classify images with a chosen model; ``set_current_run`` offers the window's latest run."""

    modelLoaded = Signal(str)  # the model's source
    modelFailed = Signal(str)  # why it could not be loaded
    predictionsShown = Signal()  # every queued image has its card
    heatMapShown = Signal(object)  # a card whose heat map arrived (or could not be computed)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Try it")
        self.setAcceptDrops(True)
        self.predictor: Predictor | None = None
        self.current_run: str | None = None
        self.cards: list[PredictionCard] = []
        self._model_source: str | None = None
        self._follow_current_run = True  # until the user picks a model themselves
        self._waiting: list[str] = []  # images that arrived while the model was loading
        self._positions: dict[str, list[int]] = {}  # queued images' places in the order given
        self._next_position = 0
        self._outstanding = 0  # classify tasks not back yet
        self._load_request = 0
        self._generation = 0  # bumped by clear(): results of older requests are dropped
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one model, used by one thread at a time
        self._explainer = (None, None)  # (predictor, its Explainer): made on the pool, when first asked
        self._build()

    def _build(self) -> None:
        self.model_label = QLabel("No model yet: train one, or choose a run folder or model file.")
        self.model_label.setWordWrap(True)
        self.model_label.setTextFormat(Qt.TextFormat.PlainText)
        self.trust_box: QMessageBox | None = None  # the open TorchScript question, if any
        self.model_label.setAccessibleName("Model")
        self.model_label.setToolTip("The model that classifies the images")
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.current_button = action_button("Current run", "Use the current run",
                                            "Use the best weights of the run this window trained last",
                                            lambda: self.current_run and self.set_model(self.current_run))
        self.current_button.setEnabled(False)
        choose_file = action_button("Model file…", "Choose model file",
                                    "Use an exported model (.pt, .safetensors, TorchScript, .onnx)",
                                    self.choose_model_file)
        choose_run = action_button("Run folder…", "Choose run folder",
                                   "Use the best weights of a run folder", self.choose_run_folder)
        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Model:"))
        model_row.addWidget(self.model_label, 1)
        for button in (self.current_button, choose_file, choose_run):
            model_row.addWidget(button)

        self.top_k = QSpinBox()
        self.top_k.setRange(1, 20)
        self.top_k.setValue(5)
        self.top_k.setAccessibleName("Classes shown")
        self.top_k.setToolTip("How many of the most likely classes to show for each image")
        self.tta = QCheckBox("Mirror too (TTA)")
        self.tta.setAccessibleName("Test-time augmentation")
        self.tta.setToolTip("Test-time augmentation: average each image's prediction with that of its "
                            "mirror image (left-right). Steadier for classes that look the same "
                            "mirrored; wrong for ones a mirror changes (arrows, letters). Applies to "
                            "images added from now on.")
        add = action_button("Add images…", "Add images", "Choose image files to classify",
                            self.choose_images)
        self.clear_button = action_button("Clear", "Clear images", "Remove every image from the view",
                                          self.clear)
        self.status = QLabel()
        self.status.setAccessibleName("Try it status")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        image_row = QHBoxLayout()
        image_row.addWidget(add)
        image_row.addWidget(self.clear_button)
        image_row.addWidget(QLabel("Classes shown:"))
        image_row.addWidget(self.top_k)
        self.unsure_below = QDoubleSpinBox()
        self.unsure_below.setRange(0, 100)
        self.unsure_below.setDecimals(0)
        self.unsure_below.setSuffix(" %")
        self.unsure_below.setValue(50)
        self.unsure_below.setAccessibleName("Unsure below")
        self.unsure_below.setToolTip("Mark a prediction unsure, with its runner-up, when its calibrated "
                                     "probability is below this (set from the model when it loads)")
        self.unsure_below.valueChanged.connect(
            lambda value: [card.set_unsure_below(value / 100) for card in self.cards])
        image_row.addWidget(QLabel("Unsure below:"))
        image_row.addWidget(self.unsure_below)
        image_row.addWidget(self.tta)
        image_row.addSpacing(12)
        image_row.addWidget(self.status, 1)

        self.hint = QLabel(DROP_HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("QLabel { border: 2px dashed palette(mid); border-radius: 8px; "
                                "padding: 40px; color: palette(window-text); }")
        self._cards_box = QWidget()
        self._cards_layout = QVBoxLayout(self._cards_box)
        self._cards_layout.addWidget(self.hint)
        self._cards_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._cards_box)
        scroll.setAccessibleName("Classified images")
        layout = QVBoxLayout(self)
        layout.addLayout(model_row)
        layout.addLayout(image_row)
        layout.addWidget(scroll, 1)

    # Model ------------------------------------------------------------------------------------
    def set_current_run(self, run_dir: str | None) -> None:
        """The window's latest finished run; used at once unless the user chose another model."""
        self.current_run = run_dir
        self.current_button.setEnabled(bool(run_dir))
        if run_dir and self._follow_current_run:
            self._load(run_dir)

    def run_finished(self, summary: dict | None) -> None:
        """The window's run ended: its folder becomes the current run if it has weights."""
        if summary and summary.get("best_epoch"):
            self.set_current_run(summary["run_dir"])

    def set_model(self, path: str | Path) -> None:
        """Classify with ``path`` (run folder or model file) from now on; loads off the GUI thread."""
        self._follow_current_run = str(path) == self.current_run
        self._load(str(path))

    def choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model file", self._model_source or "",
                                              MODEL_FILTER)
        if path:
            self.set_model(path)

    def choose_run_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a run folder", self._model_source or "")
        if path:
            self.set_model(path)

    def _load(self, source: str, trust_torchscript: bool = False) -> None:
        self.predictor = None
        self._model_source = source
        self.model_label.setText(f"Loading {printable(source)}…")
        self._load_request += 1

        def load():
            from workbench.predict import Predictor
            from workbench.torchscript_trust import UntrustedTorchScriptError

            try:
                return Predictor.load(source, trust_torchscript=trust_torchscript)
            except UntrustedTorchScriptError as exc:
                return exc  # not an error yet: the user is asked on the GUI thread

        request = self._load_request
        run_in_pool(load, lambda p: self._on_loaded(request, p, None),
                    lambda error: self._on_loaded(request, None, error), owner=self, pool=self._pool)

    def _ask_trust(self, source: str, refusal: Exception) -> None:
        """Ask before running a foreign TorchScript file's code; No is the default answer."""
        self.model_label.setText(f"Not loaded: {printable(source)} is a TorchScript file from "
                                 "elsewhere (waiting for your answer).")
        box = QMessageBox(QMessageBox.Icon.Warning, "Run this TorchScript file's code?",
                          f"{printable(source)}\n\nLoading a TorchScript file runs the code inside it, "
                          "which can read, change or delete your files. This installation of Workbench "
                          "did not export it.\n\nOnly load it if you trust where it came from; an ONNX "
                          "or safetensors export of the same model holds no code.", parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        load = box.addButton("Load anyway", QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        request = self._load_request

        def answered(_result: int) -> None:
            self.trust_box = None
            if request != self._load_request:
                return  # another model was chosen meanwhile
            if box.clickedButton() is load:
                self._load(source, trust_torchscript=True)
            else:
                self.model_label.setText(f"Not loaded: {printable(refusal)}")
                self.modelFailed.emit(str(refusal))

        box.finished.connect(answered)
        self.trust_box = box
        box.open()  # not exec(): the window stays live, and tests answer the box

    # Images -----------------------------------------------------------------------------------
    def choose_images(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Choose images", "", "Images (*.jpg *.jpeg *.png *.bmp *.gif *.webp *.tif *.tiff);;"
            "All files (*)")
        if paths:
            self.add_images(paths)

    def add_images(self, paths: list[str | Path]) -> None:
        """Classify these files (folders: the images in them); a card per image appears when done."""
        from workbench.predict import expand_image_paths  # loaded at start-up, in the background

        files = []
        for item in paths:  # one at a time: each card takes its place in the order given
            found, missing = expand_image_paths([item])
            for path, reason in missing:
                self._add_card({"path": path, "top": None, "thumbnail": None, "error": reason})
            for path in map(str, found):
                self._next_position += 1
                self._positions.setdefault(path, []).append(self._next_position)
                files.append(path)
        if not files:
            self._report_progress()
            return
        if self.predictor is None:
            if self._model_source is None:
                self.status.setText("Choose a model first (Model file… or Run folder…).")
            self._waiting.extend(files)
            return
        self._classify(files)

    def clear(self) -> None:
        """Remove every card (results still being computed are dropped when they arrive)."""
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        self._waiting = []
        self._positions = {}
        self.hint.show()
        self._generation += 1
        self._outstanding = 0
        self.status.setText("")

    def _classify(self, files: list[str]) -> None:
        predictor, top_k, tta = self.predictor, self.top_k.value(), self.tta.isChecked()
        for i in range(0, len(files), CHUNK):
            chunk = files[i:i + CHUNK]
            self._outstanding += 1
            run_in_pool(lambda c=chunk: classify_images(predictor, c, top_k, tta),
                        lambda results, g=self._generation: self._on_classified(g, results, None),
                        lambda error, g=self._generation: self._on_classified(g, None, error),
                        owner=self, pool=self._pool)
        self.status.setText(f"Classifying {len(files)} image{'s' if len(files) != 1 else ''}…")

    # Results ----------------------------------------------------------------------------------
    def _on_loaded(self, request: int, predictor, error) -> None:
        if request != self._load_request:
            return  # another model was chosen meanwhile
        from workbench.torchscript_trust import UntrustedTorchScriptError  # loaded by load()

        if isinstance(predictor, UntrustedTorchScriptError):
            self._ask_trust(self._model_source, predictor)
            return
        if error:
            self.model_label.setText(f"Could not load {printable(self._model_source)}: {printable(error)}")
            waiting = len(self._waiting)
            self.status.setText(f"Choose another model to classify the {waiting} waiting image"
                                f"{'s' if waiting != 1 else ''}." if waiting else "")
            self.modelFailed.emit(error)
            return
        self.predictor = predictor
        classes = ", ".join(printable(name) for name in predictor.class_names)
        calibrated = (f"calibrated, temperature {predictor.temperature:.3g}" if predictor.temperature != 1
                      else "not calibrated")
        self.model_label.setText(f"{printable(predictor.source)} ({predictor.format}, "
                                 f"{predictor.image_size} px, {calibrated}; classes: {classes})")
        self.unsure_below.setValue(round(predictor.unsure_below * 100))
        self.modelLoaded.emit(predictor.source)
        waiting, self._waiting = self._waiting, []
        if waiting:
            self._classify(waiting)

    def _on_classified(self, generation: int, results, error) -> None:
        if generation != self._generation:
            return  # the view was cleared since
        self._outstanding -= 1
        if error:
            self.status.setText(f"Could not classify: {printable(error)}")
        for result in results or []:
            self._add_card(result)
        self._report_progress()

    def _add_card(self, result: dict) -> None:
        """Place the card where its image was given, however late its result arrives."""
        self.hint.hide()
        card = PredictionCard(result, self.unsure_below.value() / 100)
        card.heatMapRequested.connect(self._compute_heat_map)
        queued = self._positions.get(card.path)
        if queued:
            card.position = queued.pop(0)
        else:
            self._next_position += 1
            card.position = self._next_position
        index = sum(1 for other in self.cards if other.position < card.position)
        self._cards_layout.insertWidget(1 + index, card)  # after the (hidden) hint
        self.cards.insert(index, card)

    def _compute_heat_map(self, card: PredictionCard) -> None:
        """The card's top class's heat map over its thumbnail, computed on the model's pool."""
        predictor, generation = self.predictor, self._generation
        if predictor is None:
            card.heat_map_failed("the model is not loaded")
            return
        path, target = card.path, card.top[0][0]

        def compute():
            from workbench.explain import Explainer  # imports Captum: only once a map is asked for

            if self._explainer[0] is not predictor:  # the pool's one thread: no race
                self._explainer = (predictor, Explainer.for_model(predictor))
            return self._explainer[1].overlay_of_file(path, target, size=THUMBNAIL_PX)[0]

        def done(overlay) -> None:
            if generation == self._generation and card in self.cards:
                card.set_heat_map(overlay)
                self.heatMapShown.emit(card)

        def failed(error: str) -> None:
            if generation == self._generation and card in self.cards:
                card.heat_map_failed(error)
                self.heatMapShown.emit(card)

        run_in_pool(compute, done, failed, owner=self, pool=self._pool)

    def _report_progress(self) -> None:
        if self._outstanding or self._waiting:
            return
        failed = sum(1 for card in self.cards if card.error)
        text = f"{len(self.cards) - failed} image{'s' if len(self.cards) - failed != 1 else ''} classified"
        self.status.setText(text + (f"; {failed} could not be read" if failed else "") + ".")
        self.predictionsShown.emit()

    # Drag and drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 — Qt override
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 — Qt override
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_images(paths)
