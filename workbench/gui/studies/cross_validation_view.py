"""The Cross-validation tab: the folds setting and the study's buttons, its wall time, each fold's
validation curves with the mean ± std band, the recommendation in words, and **Train final model**.

A thin view of a :class:`~workbench.study_session.CrossValidationSession`; the window starts,
stops and resumes the study (its requests are this view's signals).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from workbench.gui.common import action_button
from workbench.gui.studies.study_plots import FoldCurves
from workbench.session import format_duration
from workbench.study_session import CrossValidationSession

INTRO = ("Cross-validation answers “how many epochs?” with your images: the training and validation "
         "images are dealt into K folds, and K runs each train on K − 1 folds for the whole epoch "
         "budget and validate on the remaining one. The epoch recommended is the smallest whose mean "
         "validation loss is within one standard error of the lowest. The test set, if any, is left "
         "out of every fold.")


class CrossValidationView(QWidget):
    startRequested = Signal(int)  # folds
    stopRequested = Signal()
    resumeRequested = Signal(str)  # the study folder
    trainFinalRequested = Signal(dict)  # the study's summary
    foldsChanged = Signal(int)

    def __init__(self, session: CrossValidationSession, parent=None):
        super().__init__(parent)
        self.setAccessibleName("Cross-validation")
        self.session = session
        self.folds = QSpinBox()
        self.folds.setRange(2, 50)
        self.folds.setValue(5)
        self.folds.setAccessibleName("Folds")
        self.folds.setToolTip("K: how many folds (and runs) the study trains; 5 is usual, more "
                              "folds train longer and measure the spread more finely")
        self.folds.valueChanged.connect(self.foldsChanged)
        self.start_button = action_button("Cross-validate", "Cross-validate",
                                          "Train one run per fold with the settings on the left",
                                          lambda: self.startRequested.emit(self.folds.value()))
        self.stop_button = action_button("Stop study", "Stop study",
                                         "Stop after the current batch; the study can be resumed",
                                         self.stopRequested)
        self.resume_button = action_button("Resume study", "Resume study",
                                           "Continue the stopped study: finished folds are kept",
                                           lambda: self.resumeRequested.emit(self.session.out or ""))
        self.final_button = action_button("Train final model", "Train final model",
                                          "Train one run on all training and validation images for the "
                                          "recommended number of epochs (the test set stays out)",
                                          lambda: self.trainFinalRequested.emit(self.session.summary))
        self.estimate_label = _wrapping_label("Study time", "")
        self.status_label = _wrapping_label("Study progress", "")
        self.sentence_label = _wrapping_label("Recommendation", "No study run in this window yet.")
        font = self.sentence_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.sentence_label.setFont(font)
        self.curves = FoldCurves()

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Folds"))
        controls.addWidget(self.folds)
        for button in (self.start_button, self.stop_button, self.resume_button, self.final_button):
            controls.addWidget(button)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(_wrapping_label("About cross-validation", INTRO))
        layout.addLayout(controls)
        layout.addWidget(self.estimate_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.sentence_label)
        layout.addWidget(self.curves, 1)

        session.started.connect(self._on_started)
        session.fold_started.connect(self._on_fold_started)
        session.fold_epoch.connect(self._on_fold_epoch)
        session.fold_ended.connect(self._on_fold_ended)
        session.finished.connect(self.show_summary)
        session.failed.connect(self._on_failed)
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        """``busy``: a run or study is under way in the window (only a study's can be stopped here);
        the window calls it whenever that changes."""
        studying = busy and self.session.running
        self.start_button.setEnabled(not busy)
        self.folds.setEnabled(not busy)
        self.stop_button.setEnabled(studying)
        summary = self.session.summary or {}
        self.resume_button.setEnabled(not busy and bool(summary) and not summary.get("complete"))
        # A stopped study's recommendation stands on fewer folds than asked: finish it first.
        self.final_button.setEnabled(not busy and bool(summary.get("complete"))
                                     and bool(summary.get("recommended_epochs")))

    def set_estimate(self, text: str) -> None:
        self.estimate_label.setText(text)

    def _on_started(self) -> None:
        self.curves.reset()
        self.sentence_label.setText("Cross-validating…")
        self.status_label.setText("Preparing the folds (the images are decoded once for all folds)…")

    def _on_fold_started(self, e) -> None:
        self.status_label.setText(f"Fold {e.fold} of {e.folds}: training ({e.run_dir})")

    def _on_fold_epoch(self, fold: int, history: list[dict]) -> None:
        self.curves.show_fold(fold, history)
        s = self.session
        eta = s.eta()
        self.status_label.setText(f"Fold {fold} of {s.folds}, epoch {len(history)} of {s.epochs}"
                                  + (f" — about {format_duration(eta)} left" if eta is not None else ""))
        if eta is not None and fold == 1 and len(history) == 1:
            self.set_estimate(f"Measured in its first epoch: the study takes about "
                              f"{format_duration(eta + history[0]['seconds'])} ({s.folds} folds × "
                              f"{s.epochs} epochs at {history[0]['seconds']:.1f} s per epoch).")

    def _on_fold_ended(self, fold: int, history: list[dict]) -> None:
        from workbench.studies.cross_validation import curve_statistics

        self.curves.show_fold(fold, history)
        done = [self.session.histories[f] for f in self.session.finished_folds]
        if len(done) >= 2:  # a band over one fold would be a line
            self.curves.show_band(curve_statistics(done))

    def show_summary(self, summary: dict) -> None:
        from workbench.studies.cross_validation import describe

        for fold, history in sorted(self.session.histories.items()):
            self.curves.show_fold(fold, history)
        self.curves.show_band(summary.get("epochs") or [])
        self.curves.mark_recommended(summary.get("recommended_epochs"))
        self.sentence_label.setText(describe(summary))
        state = ("Finished" if summary.get("complete") else
                 f"Stopped after {summary.get('folds_done', 0)} of {summary.get('folds')} folds; "
                 "Resume study continues it")
        self.status_label.setText(f"{state} in {format_duration(summary.get('seconds'))}. "
                                  f"Study folder: {self.session.out}")

    def _on_failed(self, error) -> None:
        self.sentence_label.setText("The study failed.")
        self.status_label.setText(error.message)


def _wrapping_label(name: str, text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
