"""The Try it view with real trained models: dropped images get the Predictor's top-k as bars."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from workbench.gui.try_it.view import TryItView
from workbench.predict import Predictor


@pytest.fixture
def view(shown):
    return shown(TryItView(), size=(800, 600))


def _drop(widget, paths) -> bool:
    """Drag the files over the widget and drop them, as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    action, button = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton
    enter = QDragEnterEvent(QPoint(10, 10), action, mime, button, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(10, 10), action, mime, button, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def _one_image_per_class(tiny_data) -> list[Path]:
    return [sorted(folder.iterdir())[0] for folder in sorted(Path(tiny_data).iterdir()) if folder.is_dir()]


def _load(qtbot, view, source):
    with qtbot.waitSignal(view.modelLoaded, timeout=30_000):
        view.set_model(source)


def test_dropped_images_show_the_predictors_top_k(qtbot, view, past_runs, tiny_data, tmp_path):
    _root, paths = past_runs
    run = next(p for p in paths if p.endswith("run-2-epochs"))
    _load(qtbot, view, run)
    assert run in view.model_label.text() and "32 px" in view.model_label.text()
    images = _one_image_per_class(tiny_data)
    broken = tmp_path / "broken.jpg"
    broken.write_text("not a picture")
    with qtbot.waitSignal(view.predictionsShown, timeout=30_000):
        assert _drop(view, [*images, broken])
    assert len(view.cards) == 5
    expected = {p.image: p.top for p in Predictor.load(run).predict([str(i) for i in images], top_k=5)}
    for card in view.cards[:4]:
        assert card.error is None
        assert [label for label, _ in card.top] == [label for label, _ in expected[card.path]]
        assert [p for _, p in card.top] == pytest.approx([p for _, p in expected[card.path]], abs=1e-6)
        assert len(card.bars) == 4  # 4 classes, top-5 asked
        for bar, (label, probability) in zip(card.bars, card.top, strict=True):
            assert bar.value() == round(probability * 1000)
            assert bar.text() == f"{probability:.1%}"
            assert bar.accessibleName() == f"{label}: {probability:.1%}"
        assert card.image.pixmap() is not None and not card.image.pixmap().isNull()
    bad = view.cards[4]
    assert bad.path == str(broken) and bad.top == [] and "could not be read" in bad.error
    assert "Could not classify this file" in bad.message.text()
    qtbot.waitUntil(bad.message.isVisible)  # the layout shows new cards on its next pass
    assert view.status.text() == "4 images classified; 1 could not be read."


def test_the_tta_checkbox_shows_the_mean_of_each_image_and_its_mirror(qtbot, view, past_runs, tiny_data):
    _root, paths = past_runs
    run = next(p for p in paths if p.endswith("run-2-epochs"))
    _load(qtbot, view, run)
    images = _one_image_per_class(tiny_data)
    view.tta.setChecked(True)
    with qtbot.waitSignal(view.predictionsShown, timeout=30_000):
        view.add_images(images)
    predictor = Predictor.load(run)
    expected = {p.image: p.top for p in predictor.predict([str(i) for i in images], top_k=5, tta=True)}
    plain = {p.image: p.top for p in predictor.predict([str(i) for i in images], top_k=5)}
    assert expected != plain  # the mirror images changed the figures
    for card in view.cards:
        assert [p for _, p in card.top] == pytest.approx([p for _, p in expected[card.path]], abs=1e-6)


def test_images_picked_before_the_model_loads_wait_for_it(qtbot, view, past_runs, tiny_data, monkeypatch):
    images = _one_image_per_class(tiny_data)[:2]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(p) for p in images], ""))
    view.top_k.setValue(2)
    view.choose_images()
    assert view.cards == [] and "Choose a model first" in view.status.text()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: past_runs[1][0])
    with qtbot.waitSignal(view.predictionsShown, timeout=30_000):
        view.choose_run_folder()
    assert [card.path for card in view.cards] == [str(p) for p in images]
    assert all(len(card.top) == 2 for card in view.cards)
    view.clear()
    assert view.cards == [] and view.hint.isVisibleTo(view)


def test_a_file_that_is_not_a_model_is_refused_with_the_reason(qtbot, view, tmp_path):
    junk = tmp_path / "model.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with qtbot.waitSignal(view.modelFailed, timeout=30_000) as failed:
        view.set_model(junk)
    assert failed.args[0]
    assert view.model_label.text().startswith(f"Could not load {junk}")
    assert view.predictor is None


def test_the_window_offers_its_finished_run(qtbot, window, tiny_data):
    window.form.image_size.setValue(32)
    window.form.batch_size.setValue(8)
    window.form.epochs.setValue(1)
    with qtbot.waitSignal(window.datasetOpened, timeout=30_000):
        window.open_dataset(tiny_data)
    view = window.try_it
    with qtbot.waitSignal(view.modelLoaded, timeout=180_000) as loaded:
        window.start_training()
    assert view.current_run == window.run_dir and view.current_button.isEnabled()
    assert Path(loaded.args[0]) == Path(window.run_dir)
    window.tabs.setCurrentWidget(view)
    with qtbot.waitSignal(view.predictionsShown, timeout=30_000):
        _drop(view, [tiny_data])  # a folder: every image in it
    assert len(view.cards) == 64 and not any(card.error for card in view.cards)
