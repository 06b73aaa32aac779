"""Hostile files in the window: Try it asks before running TorchScript code and shows forged names
escaped; the Runs view lists damaged runs with a note; Export asks before replacing a file."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from workbench.gui.runs.export_dialog import ExportDialog
from workbench.gui.runs.runs_view import COLUMNS, RunsView
from workbench.gui.try_it.view import TryItView

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hostile_models as hm  # noqa: E402
import hostile_runs as hr  # noqa: E402


@pytest.fixture
def view(shown):
    return shown(TryItView())


def test_a_foreign_torchscript_is_only_loaded_after_the_user_says_so(qtbot, view, tmp_path):
    marker = tmp_path / "pwned"
    evil = hm.torchscript_writing_a_file(tmp_path, marker)
    view.set_model(evil)
    qtbot.waitUntil(lambda: view.trust_box is not None, timeout=30_000)
    text = view.trust_box.text()
    assert "runs the code inside it, which can read, change or delete your files" in text
    assert "an ONNX or safetensors export of the same model holds no code" in text
    assert view.trust_box.defaultButton() is view.trust_box.button(QMessageBox.StandardButton.Cancel)
    with qtbot.waitSignal(view.modelFailed, timeout=10_000):
        view.trust_box.button(QMessageBox.StandardButton.Cancel).click()
    assert view.predictor is None and not marker.exists()
    assert view.model_label.text().startswith(f"Not loaded: Refused to load TorchScript file {evil}")
    view.set_model(evil)
    qtbot.waitUntil(lambda: view.trust_box is not None, timeout=30_000)
    [load] = [b for b in view.trust_box.buttons() if b.text() == "Load anyway"]
    with qtbot.waitSignal(view.modelLoaded, timeout=30_000):
        load.click()
    assert marker.exists() and view.predictor.format == "torchscript"


def test_forged_class_names_are_shown_escaped_as_plain_text(qtbot, view, exported_models, tmp_path,
                                                            tiny_data):
    forged = hm.forged_class_names(exported_models["pt"], tmp_path)
    with qtbot.waitSignal(view.modelLoaded, timeout=30_000):
        view.set_model(forged)
    assert "\n" not in view.model_label.text() and "cat\\n  1. dog" in view.model_label.text()
    with qtbot.waitSignal(view.predictionsShown, timeout=30_000):
        view.add_images([tiny_data / "circle" / "circle_000.jpg"])
    texts = [label.text() for label in view.cards[0].findChildren(QLabel)]
    assert not any("\n" in t or "\x1b" in t for t in texts)
    [name] = [label for label in view.cards[0].findChildren(QLabel) if label.text().startswith("cat\\n")]
    assert name.textFormat() == Qt.TextFormat.PlainText


def test_the_runs_view_lists_damaged_runs_with_a_note(qtbot, trained_run, tmp_path):
    root = tmp_path / "runs"
    hr.copy_run(trained_run, root, "good")
    hr.summary_holding_a_list(hr.copy_run(trained_run, root, "list-summary"))
    hr.deeply_nested_config(hr.copy_run(trained_run, root, "nested-config"))
    hr.forged_run_name(trained_run, root)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("runs_dir", str(root))
    runs_view = RunsView(settings)
    qtbot.addWidget(runs_view)
    runs_view.show()
    with qtbot.waitSignal(runs_view.runsListed, timeout=30_000):
        runs_view.refresh()
    table, note = runs_view.table, COLUMNS.index("Note")
    rows = {table.item(r, 0).text(): (table.item(r, 6).text(), table.item(r, note).text())
            for r in range(table.rowCount())}
    assert rows["good"] == ("finished", "")
    assert rows["list-summary"] == ("incomplete", "summary.json is damaged (holds list, not an object)")
    assert rows["nested-config"] == ("damaged", "config.json is damaged (nested too deeply)")
    assert "evil\\n\\x1b[31mfinished" in rows
    with qtbot.waitSignal(runs_view.runOpened, timeout=30_000):  # opening a damaged run works too
        runs_view.select_runs([root / "list-summary"])


def test_export_asks_before_replacing_a_file(qtbot, trained_run, tmp_path):
    run = shutil.copytree(trained_run, tmp_path / "run")
    target = tmp_path / "mine.onnx"
    target.write_bytes(b"keep me")
    dialog = ExportDialog(run)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("onnx"))
    dialog.path.setText(str(target))
    dialog.export_button.click()
    assert dialog.overwrite_box is not None and str(target) in dialog.overwrite_box.text()
    dialog.overwrite_box.button(QMessageBox.StandardButton.Cancel).click()
    assert target.read_bytes() == b"keep me" and "Not exported" in dialog.status.text()
    dialog.export_button.click()
    with qtbot.waitSignal(dialog.exported, timeout=120_000):
        dialog.overwrite_box.button(QMessageBox.StandardButton.Yes).click()
    assert target.read_bytes() != b"keep me"
    dialog.path.setText(str(run / "config"))  # would write config.json through the metadata file
    with qtbot.waitSignal(dialog.failed, timeout=10_000) as failed:
        dialog.export_button.click()
    assert failed.args[0].startswith(f"Refused to write {run / 'config.json'}: it is the run's own")
