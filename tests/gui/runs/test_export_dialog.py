"""The Export dialog on a real run: export each way the window offers, see it verified or refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.export import default_export_path
from workbench.gui.runs.export_dialog import ExportDialog
from workbench.predict import Predictor


@pytest.fixture
def run_copy(past_runs, tmp_path) -> Path:
    _root, paths = past_runs
    source = next(p for p in paths if p.endswith("run-2-epochs"))
    return Path(shutil.copytree(source, tmp_path / "run-2-epochs"))


def _export(qtbot, dialog, fmt: str, which: str = "best"):
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))
    dialog.checkpoint.setCurrentIndex(dialog.checkpoint.findData(which))
    with qtbot.waitSignal(dialog.exported, timeout=120_000) as exported:
        dialog.export_button.click()
    return exported.args[0]


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_writes_a_verified_model_and_says_so(qtbot, run_copy, fmt, tiny_data):
    dialog = ExportDialog(run_copy)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))
    assert dialog.path.text() == str(default_export_path(run_copy, fmt, "best"))
    result = _export(qtbot, dialog, fmt)
    assert result.path == default_export_path(run_copy, fmt, "best") and result.path.is_file()
    assert result.metadata_path.is_file()
    assert result.max_abs_diff <= 1e-4 and result.images_checked > 0
    box = dialog.message_box
    assert box.icon() == QMessageBox.Icon.Information
    expected = (f"Verified: max abs difference {result.max_abs_diff:.1e} on {result.images_checked} "
                f"{result.checked_on}.")
    assert expected in box.text() and str(result.path) in box.text()
    assert f"verified: max abs difference {result.max_abs_diff:.1e}" in dialog.status.text()
    # The exported file predicts like the run it came from.
    image = str(sorted((Path(tiny_data) / "circle").iterdir())[0])
    from_file = Predictor.load(result.path).predict([image])[0].top
    from_run = Predictor.load(run_copy).predict([image])[0].top
    assert [c for c, _ in from_file] == [c for c, _ in from_run]
    box.accept()
    qtbot.waitUntil(lambda: not dialog.isVisible())  # a successful export closes the dialog


def test_a_chosen_file_name_is_used_for_the_last_checkpoint(qtbot, run_copy, tmp_path, monkeypatch):
    dialog = ExportDialog(run_copy)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("safetensors"))
    target = tmp_path / "elsewhere" / "shapes.safetensors"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    dialog.choose_path()
    dialog.checkpoint.setCurrentIndex(dialog.checkpoint.findData("last"))
    assert dialog.path.text() == str(target)  # a chosen name survives changing the options
    result = _export(qtbot, dialog, "safetensors", "last")
    assert result.path == target and target.is_file()
    assert Predictor.load(target).class_names == ["circle", "square", "star", "triangle"]


def test_a_refused_export_shows_the_reason(qtbot, run_copy):
    (run_copy / "checkpoints" / "last.pt").unlink()
    dialog = ExportDialog(run_copy)
    qtbot.addWidget(dialog)
    dialog.checkpoint.setCurrentIndex(dialog.checkpoint.findData("last"))
    with qtbot.waitSignal(dialog.failed, timeout=60_000) as failed:
        dialog.export_button.click()
    assert "has no last checkpoint" in failed.args[0]
    assert dialog.message_box.icon() == QMessageBox.Icon.Critical
    assert "has no last checkpoint" in dialog.message_box.text()
    assert dialog.export_button.isEnabled()  # the user can pick best and try again


def test_file_menu_and_runs_view_open_the_dialog(qtbot, window, past_runs):
    assert not window.export_action.isEnabled()  # nothing trained in this window yet
    root, paths = past_runs
    view = window.runs_view
    with qtbot.waitSignal(view.runsListed, timeout=20_000):
        view.set_runs_root(root)
    with qtbot.waitSignal(view.runOpened, timeout=20_000):
        view.select_runs([paths[0]])
    view.export_button.click()
    dialogs = [d for d in window.findChildren(ExportDialog) if d.isVisible()]
    assert len(dialogs) == 1 and dialogs[0].run_dir == Path(paths[0])
    dialogs[0].reject()
