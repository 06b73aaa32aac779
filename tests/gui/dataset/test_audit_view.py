"""The Audit page: it lists the findings with thumbnails, keeps the leakage warning in step with
the split, opens folders and moves an image only after a confirmation."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox

from workbench.config import TrainConfig
from workbench.data.scan import scan_image_folder
from workbench.gui.dataset.tab import DatasetTab


@pytest.fixture
def planted(tiny_data, tmp_path):
    from tests.audit.conftest import plant_duplicates

    root = tmp_path / "data"
    shutil.copytree(tiny_data, root)
    return root, plant_duplicates(root)


def _audited(qtbot, shown, root):
    tab = shown(DatasetTab(), size=(900, 800))
    tab.open_folder(root, 89.0)
    qtbot.waitUntil(lambda: tab.scan is not None, timeout=20_000)
    tab.show_split(TrainConfig(data_dir=str(root)))
    tab.pages.setCurrentWidget(tab.audit)
    with qtbot.waitSignal(tab.audit.finished, timeout=60_000) as blocker:
        tab.audit.run_audit()
    assert blocker.args[0] is not None, tab.audit.status.text()
    return tab


def test_findings_are_listed_with_thumbnails(qtbot, shown, planted):
    root, p = planted
    tab = _audited(qtbot, shown, root)
    view = tab.audit
    shown_paths = {card.path for card in view.cards}
    assert {str(p[k]) for k in ("exact", "exact_original", "resized", "resized_original")} <= shown_paths
    assert len(view.cards) >= 6
    qtbot.waitUntil(lambda: all(card.thumbnail.pixmap() is not None and not card.thumbnail.pixmap().isNull()
                                for card in view.cards), timeout=20_000)
    assert "Likely label errors: not checked" in " ".join(
        w.text() for w in view.findChildren(type(view.status)))


def test_leakage_warning_follows_the_split_settings(qtbot, shown, planted):
    root, p = planted
    tab = _audited(qtbot, shown, root)
    from workbench.data.duplicates import split_of
    from workbench.data.prepare import split_dataset

    scan = scan_image_folder(root)
    config = TrainConfig(data_dir=str(root))
    for seed in range(50):
        config = dataclasses.replace(config, seed=seed)
        where = split_of(split_dataset(scan, config))
        if where[str(p["exact"])] != where[str(p["exact_original"])]:
            break
    tab.show_split(config)
    assert tab.audit.leakage.isVisible() and "Leakage:" in tab.audit.leakage.text()
    tab.show_split(dataclasses.replace(config, val_fraction=0.0, early_stopping=False))
    assert "No duplicates cross" in tab.audit.leakage.text()


def test_open_folder_asks_the_desktop(qtbot, shown, planted, monkeypatch):
    root, p = planted
    tab = _audited(qtbot, shown, root)
    opened = []
    monkeypatch.setattr("workbench.gui.dataset.audit.QDesktopServices.openUrl", opened.append)
    card = next(c for c in tab.audit.cards if c.path == str(p["resized"]))
    card.open_button.click()
    assert [url.toLocalFile() for url in opened] == [str(p["resized"].parent)]


def test_move_to_class_moves_only_after_confirmation(qtbot, shown, planted, monkeypatch):
    root, p = planted
    tab = _audited(qtbot, shown, root)
    source = p["other_class"]  # a circle filed under square
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("circle", True))

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    card = next(c for c in tab.audit.cards if c.path == str(source))
    card.move_button.click()
    assert source.exists()  # declined: nothing moved

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    counts_before = tab.scan.class_counts()
    card = next(c for c in tab.audit.cards if c.path == str(source))
    with qtbot.waitSignal(tab.scanned, timeout=20_000):
        card.move_button.click()
    target = root / "circle" / source.name
    # The rescanned folder's saved audit is shown again, with the move in it, thumbnails and all.
    qtbot.waitUntil(lambda: "Last audit" in tab.audit.status.text(), timeout=20_000)
    qtbot.waitUntil(lambda: all(c.thumbnail.pixmap() is not None and not c.thumbnail.pixmap().isNull()
                                for c in tab.audit.cards), timeout=20_000)
    assert target.exists() and not source.exists()
    assert tab.scan.class_counts()["circle"] == counts_before["circle"] + 1
    assert tab.audit.audit["moves"][0]["to"] == str(target)
    assert str(target) in {c.path for c in tab.audit.cards}
