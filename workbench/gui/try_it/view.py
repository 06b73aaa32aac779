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

from PySide6.QtCore import Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.data.decode import load_image
from workbench.gui.common import action_button, bold_label, pixmap_from_array
from workbench.gui.dataset.panel import ERROR_STYLE
from workbench.gui.offthread import run_in_pool
from workbench.predict import Predictor, UnreadableImagesError, expand_image_paths
from workbench.safe_text import printable
from workbench.torchscript_trust import UntrustedTorchScriptError

THUMBNAIL_PX = 128
CHUNK = 16  # images per pool task: results appear as they are ready, not all at the end
MODEL_FILTER = ("Models (*.pt *.pth *.safetensors *.onnx);;All files (*)")
DROP_HINT = ("Drop images or folders of images here, or click “Add images…”.\n"
             "Each one is shown with the model's most likely classes.")


def classify_images(predictor: Predictor, paths: list[str], top_k: int, tta: bool = False) -> list[dict]:
    """Top-k of each image plus a thumbnail, as plain values; unreadable images get an ``error``.
    ``tta``: each image's prediction averaged with its mirror image's."""
    skipped: dict[str, str] = {}
    try:
        predictions = predictor.predict(paths, top_k, on_skip=skipped.__setitem__, tta=tta)
    except UnreadableImagesError:
        predictions = []  # every image was reported through on_skip
    by_image = {p.image: p.top for p in predictions}
    results = []
    for path in paths:
        entry = {"path": path, "top": by_image.get(path), "thumbnail": None,
                 "error": skipped.get(path)}
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
    """One image: its thumbnail beside its top-k classes as bars with probabilities."""

    def __init__(self, result: dict, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.path = result["path"]
        self.top: list[tuple[str, float]] = list(result["top"] or [])
        self.error: str | None = result["error"]
        self.setAccessibleName(f"Prediction for {printable(Path(self.path).name)}")
        self.image = QLabel()
        self.image.setFixedSize(THUMBNAIL_PX, THUMBNAIL_PX)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setStyleSheet("QLabel { background: palette(midlight); }")
        if result["thumbnail"] is not None:
            self.image.setPixmap(pixmap_from_array(result["thumbnail"]))
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
        column.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(self.image, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(column, 1)


class TryItView(QWidget):
    """Classify images with a chosen model; ``set_current_run`` offers the window's latest run."""

    modelLoaded = Signal(str)  # the model's source
    modelFailed = Signal(str)  # why it could not be loaded
    predictionsShown = Signal()  # every queued image has its card

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
        self._outstanding = 0  # classify tasks not back yet
        self._load_request = 0
        self._generation = 0  # bumped by clear(): results of older requests are dropped
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one model, used by one thread at a time
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
            try:
                return Predictor.load(source, trust_torchscript=trust_torchscript)
            except UntrustedTorchScriptError as exc:
                return exc  # not an error yet: the user is asked on the GUI thread

        request = self._load_request
        run_in_pool(load, lambda p: self._on_loaded(request, p, None),
                    lambda error: self._on_loaded(request, None, error), owner=self, pool=self._pool)

    def _ask_trust(self, source: str, refusal: UntrustedTorchScriptError) -> None:
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
        files, missing = expand_image_paths(paths)
        for path, reason in missing:
            self._add_card({"path": path, "top": None, "thumbnail": None, "error": reason})
        files = [str(f) for f in files]
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
        self.model_label.setText(f"{printable(predictor.source)} ({predictor.format}, "
                                 f"{predictor.image_size} px; classes: {classes})")
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
        self.hint.hide()
        card = PredictionCard(result)
        self._cards_layout.insertWidget(self._cards_layout.count() - 1, card)
        self.cards.append(card)

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
