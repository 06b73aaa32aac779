"""The Dataset tab's Audit page: duplicates, leakage across the split and likely label errors.

The audit itself is :mod:`workbench.audit` (Qt-free), run off the GUI thread; this page draws
its findings, keeps the leakage warning in step with the split settings, and offers two actions
per image: open its folder, and move it to another class folder after a confirmation.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from workbench.config import TrainConfig
from workbench.gui.common import bold_label
from workbench.gui.dataset.audit_cards import CARD_THUMBNAIL_PX, FileCard, file_caption, issue_caption
from workbench.gui.dataset.panel import WARNING_STYLE, _message_label
from workbench.gui.offthread import LatestRequest, run_in_pool
from workbench.safe_text import printable

MAX_SHOWN = 30  # findings drawn per section; audit.json keeps them all
CARDS_PER_LINE = 6
_NO_LABELS = "Duplicates only (no label check)"


class AuditView(QWidget):
    """``set_scan(scan)`` / ``set_config(config)`` follow the Dataset tab; ``run_audit()`` audits;
    ``rescanRequested`` asks the tab to scan the folder again after a file was moved."""

    rescanRequested = Signal()
    finished = Signal(object)  # the audit dict, or None when it failed

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.scan = None
        self.config = TrainConfig()
        self.audit: dict | None = None
        self.audit_path: Path | None = None
        self.cards: list[FileCard] = []
        self._request = LatestRequest()
        # What reading a saved audit waits for (None: nothing): the window sets "torch loads", as
        # workbench.audit imports imagehash and scipy, whose import at start-up competed with the
        # window's first paints (a 127 ms stall); it calls resume() once loaded.
        self.waiting_for: Callable[[], str | None] = lambda: None
        self._waiting_scan = None
        self._thumbnails = LatestRequest()

        self.source = QComboBox()
        self.source.setAccessibleName("Label errors from")
        self.source.setToolTip("Out-of-sample class probabilities to look for label errors with: a "
                               "cross-validation study checks every image; one run only its validation "
                               "images (weaker)")
        self.source.setMinimumContentsLength(28)
        self.choose_button = QPushButton("Choose…")
        self.choose_button.setAccessibleName("Choose label source")
        self.choose_button.setToolTip("Choose a run folder or a cross-validation study folder")
        self.choose_button.clicked.connect(self.choose_source)
        self.run_button = QPushButton("Run audit")
        self.run_button.setAccessibleName("Run audit")
        self.run_button.setToolTip("Hash every image (cached), group duplicates, check the split and, "
                                   "with a source, rank likely label errors")
        self.run_button.clicked.connect(self.run_audit)
        self.status = QLabel("Open an image folder to audit it.")
        self.status.setWordWrap(True)
        self.leakage = _message_label("leakageWarning", WARNING_STYLE, "Leakage warning")
        self.label_warning = _message_label("labelWarning", WARNING_STYLE, "Label check warning")

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Label errors from:"))
        controls.addWidget(self.source, 1)
        controls.addWidget(self.choose_button)
        controls.addWidget(self.run_button)
        self._content = QWidget()
        self._sections = QVBoxLayout(self._content)
        self._sections.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._content)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.leakage)
        layout.addWidget(self.label_warning)
        layout.addWidget(scroll, 1)
        self._fill_sources([])
        self.run_button.setEnabled(False)

    # Following the Dataset tab ------------------------------------------------------------------
    def set_scan(self, scan) -> None:
        """A new (or rescanned) folder: show its saved audit, if any, and find label sources."""
        same_folder = self.scan is not None and scan is not None and scan.root == self.scan.root
        self.scan = scan
        self.run_button.setEnabled(scan is not None)
        if scan is None:
            self._show(None)
            return
        self._waiting_scan = scan if self.waiting_for() else None
        if self._waiting_scan is None:
            self._look_up(scan, same_folder)

    def resume(self) -> None:
        """What ``waiting_for`` named is there: look up the saved audit of the folder shown."""
        scan, self._waiting_scan = self._waiting_scan, None
        if scan is not None and scan is self.scan:
            self._look_up(scan, same_folder=False)  # nothing of it is shown yet

    def _look_up(self, scan, same_folder: bool) -> None:
        """Show ``scan``'s saved audit, if any, and find label sources (off the GUI thread)."""
        def load():
            # Imported here, off the GUI thread: workbench.audit imports imagehash and scipy
            # (850 ms on a 2-core machine, which froze the window as the first folder opened).
            from workbench.audit import default_audit_path, probability_sources, read_audit
            from workbench.runs import default_runs_root

            path = default_audit_path(scan.root)
            try:
                saved = read_audit(path) if path.is_file() else None
            except ValueError:
                saved = None  # damaged: the next audit replaces it
            return path, saved, probability_sources(scan.root, str(default_runs_root()))

        def loaded(result) -> None:
            path, saved, sources = result
            self._fill_sources(sources)
            if saved is not None and saved.get("dataset") == scan.root:
                self.audit_path = path
                self._show(saved, note=f"Last audit: {saved.get('created', '?').replace('T', ' ')}.")
            elif not same_folder:
                self._show(None)

        run_in_pool(load, loaded, None, owner=self, wanted=self._request.next())

    def set_config(self, config: TrainConfig) -> None:
        """The split settings changed: recompute which duplicates cross it."""
        self.config = config
        self._show_leakage()

    def offer_source(self, folder: str) -> None:
        """A run or study folder (e.g. one that just finished) to check labels with."""
        if folder and self.source.findData(folder) < 0:
            self.source.insertItem(1, _source_text(folder), folder)
        self.source.setCurrentIndex(self.source.findData(folder))

    def choose_source(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a run or cross-validation folder")
        if folder:
            self.offer_source(folder)

    def _fill_sources(self, sources: list[tuple[str, str]]) -> None:
        current = self.source.currentData()
        self.source.clear()
        self.source.addItem(_NO_LABELS, None)
        for _kind, folder in sources:
            self.source.addItem(_source_text(folder), folder)
        index = self.source.findData(current) if current else -1
        self.source.setCurrentIndex(max(index, 0))

    # Running -----------------------------------------------------------------------------------
    def run_audit(self) -> None:
        from workbench.audit import default_audit_path

        if self.scan is None:
            return
        config = dataclasses.replace(self.config, data_dir=self.scan.root)
        scan, folder = self.scan, self.source.currentData()
        out = default_audit_path(scan.root)
        self.run_button.setEnabled(False)
        self.status.setText("Auditing… (hashing every image once; later audits reuse the hashes)")

        def work():
            from workbench.audit import from_cross_validation, from_run, run_audit, write_audit

            probabilities = None
            if folder:
                is_study = (Path(folder) / "study.json").is_file()
                probabilities = from_cross_validation(folder) if is_study else from_run(folder)
            audit = run_audit(config, scan=scan, probabilities=probabilities)
            write_audit(audit, out)
            return audit

        def done(audit) -> None:
            self.audit_path = out
            self.run_button.setEnabled(True)
            self._show(audit, note=f"Audited in {audit['seconds']:.1f} s; saved to {printable(out)}.")
            self.finished.emit(audit)

        def failed(message: str) -> None:
            self.run_button.setEnabled(True)
            self.status.setText(f"The audit failed: {printable(message)}")
            self.finished.emit(None)

        run_in_pool(work, done, failed, owner=self, wanted=self._request.next())

    # Actions ----------------------------------------------------------------------------------
    def open_folder(self, path: str) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))

    def move_to_class(self, path: str) -> None:
        """Ask for the class, confirm, move (never over an existing file), save, rescan."""
        from workbench.audit import AuditError, move_to_class, record_move, write_audit

        if self.scan is None:
            return
        names = list(self.scan.class_names)
        name, ok = QInputDialog.getItem(self, "Move to class", f"Move {os.path.basename(path)} to the "
                                        "folder of class:", names, 0, False)
        if not ok or not name:
            return
        answer = QMessageBox.question(
            self, "Move image", f"Move {printable(path)}\ninto the '{printable(name)}' class folder?\n\n"
            "The file is moved, not copied or deleted; a name already taken there gets a number added.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            target = move_to_class(path, name, self.scan)
        except (AuditError, OSError) as exc:
            QMessageBox.warning(self, "Move image", f"The image was not moved: {printable(exc)}")
            return
        if self.audit is not None:
            self.audit = record_move(self.audit, path, str(target), name)
            if self.audit_path is not None:
                try:
                    write_audit(self.audit, self.audit_path)
                except OSError as exc:
                    self.status.setText(f"Moved, but audit.json could not be updated: {exc}")
            self._show(self.audit, note=f"Moved {printable(os.path.basename(path))} to '{printable(name)}'.")
        self.rescanRequested.emit()

    # Drawing ----------------------------------------------------------------------------------
    def _show(self, audit: dict | None, note: str = "") -> None:
        self.audit = audit
        self._clear()
        if audit is None:
            self.status.setText("No audit of this folder yet: Run audit looks for duplicates, leakage "
                                "and (with a run or study) likely label errors." if self.scan else
                                "Open an image folder to audit it.")
            self._show_leakage()
            return
        self.status.setText(f"{audit['images']} images; near-duplicates within "
                            f"{audit['near_duplicate_distance']} of 64 hash bits. {note}".strip())
        root = audit["dataset"]
        check = audit["label_check"]
        self.label_warning.setVisible(bool(check.get("warning") or check.get("notes")))
        self.label_warning.setText("\n".join(filter(None, [check.get("warning"), *check.get("notes", [])])))
        for title, key in (("Exact duplicates", "exact_duplicates"), ("Near-duplicates", "near_duplicates"),
                           ("Leakage: duplicates across train / validation / test", "leakage")):
            entries = audit[key]
            self._section(f"{title} ({len(entries)} group{'s' if len(entries) != 1 else ''})", len(entries),
                          [[(f["path"], file_caption(f, root)) for f in e["files"]] for e in entries])
        issues = audit["label_issues"]
        title = ("Likely label errors: not checked (choose a run or cross-validation study)"
                 if check.get("source") is None else
                 f"Likely label errors ({len(issues)} of {check['checked']} checked, most likely first)")
        self._section(title, len(issues), [[(i["path"], issue_caption(i, root)) for i in issues]],
                      one_row=True)
        self._sections.addStretch(1)
        self._show_leakage()
        self._load_thumbnails()

    def _section(self, title: str, count: int, rows: list[list[tuple[str, str]]], one_row=False) -> None:
        """A heading, then the groups (each in a frame) packed into lines of up to six cards; the
        label issues are one group of cards that wraps the same way."""
        self._sections.addWidget(bold_label(title))
        groups = rows[:MAX_SHOWN]
        if one_row:
            flat = rows[0][:MAX_SHOWN]
            groups = [flat[i:i + CARDS_PER_LINE] for i in range(0, len(flat), CARDS_PER_LINE)]
        line, used = None, CARDS_PER_LINE
        for group in groups:
            if line is None or used + len(group) > CARDS_PER_LINE:
                holder = QWidget()
                line = QHBoxLayout(holder)
                line.setContentsMargins(0, 0, 0, 0)
                line.addStretch(1)
                self._sections.addWidget(holder)
                used = 0
            box = QFrame()
            box.setFrameShape(QFrame.Shape.NoFrame if one_row else QFrame.Shape.Box)
            cards = QHBoxLayout(box)
            cards.setContentsMargins(3, 3, 3, 3)
            for path, caption in group:
                card = FileCard(path, caption)
                card.openFolder.connect(self.open_folder)
                card.moveRequested.connect(self.move_to_class)
                self.cards.append(card)
                cards.addWidget(card)
            line.insertWidget(line.count() - 1, box)
            used += len(group)
        if count > MAX_SHOWN:
            self._sections.addWidget(QLabel(f"… and {count - MAX_SHOWN} more (all are in audit.json)."))

    def _show_leakage(self) -> None:
        if self.audit is None or self.scan is None or self.audit.get("dataset") != self.scan.root:
            self.leakage.hide()
            return
        from workbench.audit import leakage_for  # imported by then: an audit was loaded or made

        try:
            leaks = leakage_for(self.audit, self.scan, self.config)
        except ValueError:
            self.leakage.hide()  # settings being edited into an invalid split
            return
        if not leaks:
            self.leakage.setText("No duplicates cross the train / validation / test split of the "
                                 "current settings.")
        else:
            exact = sum(leak["kind"] == "exact" for leak in leaks)
            self.leakage.setText(
                f"Leakage: with the current split settings, {len(leaks)} group(s) of duplicates "
                f"({exact} exact, {len(leaks) - exact} near) have images in more than one of train / "
                "validation / test. Validation figures will look better than they are: remove or "
                "merge the copies before training.")
        self.leakage.show()

    def _clear(self) -> None:
        self._thumbnails.cancel()
        self.cards = []
        while self._sections.count():
            item = self._sections.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()

    def _load_thumbnails(self) -> None:
        # Only paths go to the pool and only images come back: the cards are looked up on
        # delivery (the token guarantees they are still the ones the paths came from).
        paths = [card.path for card in self.cards]
        run_in_pool(lambda: [_thumbnail(p) for p in paths], self._set_thumbnails, None,
                    owner=self, wanted=self._thumbnails.next())

    def _set_thumbnails(self, images: list) -> None:
        for card, image in zip(self.cards, images, strict=False):
            card.set_image(image)


def _thumbnail(path: str):
    from workbench.data.decode import load_image

    try:
        return load_image(path, CARD_THUMBNAIL_PX)
    except Exception:  # noqa: BLE001 — moved away, undecodable: the card shows a cross
        return None


def _source_text(folder: str) -> str:
    kind = "Cross-validation" if (Path(folder) / "study.json").is_file() else "Run"
    return f"{kind}: {Path(folder).name}"
