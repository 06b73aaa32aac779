"""The Runs view on real past runs: list, reopen, compare, delete, change folder, re-run, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.config import TrainConfig
from workbench.engine.trainer import Trainer
from workbench.runs import RunFolder, list_runs


def _show_root(qtbot, window, root) -> list:
    view = window.runs_view
    with qtbot.waitSignal(view.runsListed, timeout=20_000) as blocker:
        view.set_runs_root(root)
    return blocker.args[0]


def _copy(past_runs, tmp_path) -> Path:
    root, _ = past_runs
    return Path(shutil.copytree(root, tmp_path / "runs"))


def test_lists_the_runs_of_the_runs_folder(qtbot, window, past_runs):
    root, paths = past_runs
    runs = _show_root(qtbot, window, root)
    view = window.runs_view
    assert [str(r.path) for r in runs] == [str(r.path) for r in list_runs(root)]
    assert sorted(str(r.path) for r in runs) == sorted(paths)
    table = view.table
    assert table.rowCount() == 2
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Run", "Started", "Model", "Dataset", "Epochs", "Best", "Status", "Note"]
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in range(7)] for r in range(2)}
    two = rows["run-2-epochs"]
    info = next(r for r in runs if r.name == "run-2-epochs")
    assert two[1] == info.created.strftime("%Y-%m-%d %H:%M")
    assert two[2:5] == ["small_cnn", Path(info.dataset).name, "2"]
    assert two[5] == f"val_loss {info.best_value:.4f}"
    assert two[6] == "finished"
    assert rows["run-1-epochs"][4] == "1"
    assert view.root_label.text() == str(root)


def test_opening_a_run_shows_its_stored_curves_results_and_settings(qtbot, window, past_runs):
    root, paths = past_runs
    _show_root(qtbot, window, root)
    view = window.runs_view
    window.tabs.setCurrentWidget(view)
    path = next(p for p in paths if p.endswith("run-2-epochs"))
    with qtbot.waitSignal(view.runOpened, timeout=20_000):
        view.select_runs([path])
    run = RunFolder(path)
    history, summary = run.read_metrics(), run.read_json(run.summary_path)
    for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
        x, y = view.details.plots.curves[key].getData()
        assert list(x) == [1.0, 2.0]
        assert np.allclose(y, [row[key] for row in history])
    assert view.details.plots.point_count("iter_raw") == 0 and not view.details.plots.iter_plot.isVisible()
    matrix = view.details.results.matrix_table
    shown = [[int(matrix.item(r, c).text()) for c in range(matrix.columnCount())]
             for r in range(matrix.rowCount())]
    assert shown == summary["confusion_matrix"] and len(shown) == 4
    assert view.details.results.summary == summary
    assert json.loads(view.details.config_text.toPlainText()) == run.read_json(run.config_path)
    assert "run-2-epochs" in view.details.title.text()
    assert view.rerun_button.isEnabled() and view.export_button.isEnabled()
    assert not view.resume_button.isEnabled()  # it finished: nothing to resume


def test_selecting_two_runs_overlays_their_validation_curves(qtbot, window, past_runs):
    root, paths = past_runs
    _show_root(qtbot, window, root)
    view = window.runs_view
    with qtbot.waitSignal(view.runsCompared, timeout=20_000) as blocker:
        view.select_runs(paths)
    assert sorted(blocker.args[0]) == ["run-1-epochs", "run-2-epochs"]
    assert view.details.tabs.currentWidget() is view.details.compare
    for key in ("val_loss", "val_acc"):
        curves = view.details.compare.curves[key]
        assert sorted(curves) == ["run-1-epochs", "run-2-epochs"]
        for name, curve in curves.items():
            history = RunFolder(Path(root) / name).read_metrics()
            x, y = curve.getData()
            assert list(x) == [row["epoch"] for row in history]
            assert np.allclose(y, [row[key] for row in history])
        colours = {curve.opts["pen"].color().name() for curve in curves.values()}
        assert len(colours) == 2
        legend = view.details.compare.plots[key].getPlotItem().legend
        assert sorted(label.text for _sample, label in legend.items) == ["run-1-epochs", "run-2-epochs"]


def test_delete_asks_first_and_cancel_keeps_the_folder(qtbot, window, past_runs, tmp_path, monkeypatch):
    root = _copy(past_runs, tmp_path)
    _show_root(qtbot, window, root)
    view = window.runs_view
    victim = str(root / "run-1-epochs")
    with qtbot.waitSignal(view.runOpened, timeout=20_000):
        view.select_runs([victim])
    asked = []

    def answer(reply):
        def question(parent, title, text, *args):
            asked.append(text)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    view.delete_button.click()
    assert asked and "run-1-epochs" in asked[0] and "cannot be undone" in asked[0]
    assert Path(victim).is_dir() and view.table.rowCount() == 2

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    window.tabs.setCurrentWidget(view)
    window.activateWindow()
    view.table.setFocus()
    with qtbot.waitSignal(view.runsDeleted, timeout=20_000) as deleted:
        qtbot.keyClick(view.table, Qt.Key.Key_Delete)  # the Del key does what Delete… does
    assert deleted.args[0] == [victim]
    assert not Path(victim).exists() and (root / "run-2-epochs").is_dir()
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=20_000)
    assert view.table.item(0, 0).text() == "run-2-epochs"
    assert view.current is None  # the deleted run's details are gone with it


def test_rerun_trains_the_same_settings_into_the_chosen_runs_folder(qtbot, window, past_runs, tmp_path,
                                                                   monkeypatch):
    root = _copy(past_runs, tmp_path)
    view = window.runs_view
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(root))
    with qtbot.waitSignal(view.runsListed, timeout=20_000):
        view.change_root_button.click()
    assert window.settings.value("runs_dir") == str(root)

    source = root / "run-1-epochs"
    with qtbot.waitSignal(view.runOpened, timeout=20_000):
        view.select_runs([str(source)])
    with qtbot.waitSignal(window.runFinished, timeout=180_000) as finished:
        view.rerun_button.click()
    summary = finished.args[0]
    assert summary["status"] == "finished"
    new_run = Path(summary["run_dir"])
    assert new_run.parent == root and new_run != source  # a new folder in the chosen runs folder
    old_config = TrainConfig.from_dict(RunFolder(source).read_json(RunFolder(source).config_path))
    new_config = TrainConfig.from_dict(RunFolder(new_run).read_json(RunFolder(new_run).config_path))
    assert new_config == old_config
    assert window.form.config().lr == pytest.approx(0.003)
    window.tabs.setCurrentWidget(view)  # the list is read again when the Runs tab shows
    qtbot.waitUntil(lambda: view.table.rowCount() == 3, timeout=20_000)


def test_resume_continues_a_stopped_run_in_its_folder(qtbot, window, tiny_data, tmp_path):
    config = TrainConfig(data_dir=str(tiny_data), model="small_cnn", image_size=32, epochs=3,
                         batch_size=8, workers=1, seed=0)
    trainer = Trainer(config, out=tmp_path / "runs" / "stopped-run")
    trainer.subscribe(lambda event: event.kind == "epoch_end" and trainer.request_stop())
    assert trainer.run()["status"] == "stopped"
    _show_root(qtbot, window, tmp_path / "runs")
    view = window.runs_view
    assert view.table.item(0, 6).text() == "stopped"
    with qtbot.waitSignal(view.runOpened, timeout=20_000):
        view.select_runs([str(tmp_path / "runs" / "stopped-run")])
    assert view.resume_button.isEnabled()
    with qtbot.waitSignal(window.runFinished, timeout=180_000) as finished:
        view.resume_button.click()
    summary = finished.args[0]
    assert summary["status"] == "finished" and summary["stopped_epoch"] == 3
    assert Path(summary["run_dir"]) == tmp_path / "runs" / "stopped-run"
    assert [row["epoch"] for row in RunFolder(summary["run_dir"]).read_metrics()] == [1, 2, 3]
    assert window.plots.point_count("val_loss") == 3  # the first epoch came back from the checkpoint
    window.tabs.setCurrentWidget(view)  # the list is read again when the Runs tab shows
    qtbot.waitUntil(lambda: view.table.item(0, 6).text() == "finished", timeout=20_000)


def test_a_run_killed_before_its_first_epoch_is_listed_and_can_be_resumed(qtbot, window, fast_config,
                                                                          tmp_path):
    # What the trainer leaves when the process dies during the first epoch: settings, no summary.
    run = RunFolder.create(tmp_path / "runs" / "killed-run")
    fast_config.epochs = 1
    fast_config.save_json(run.config_path)
    _show_root(qtbot, window, tmp_path / "runs")
    view = window.runs_view
    assert [view.table.item(0, c).text() for c in (0, 4, 5, 6)] == ["killed-run", "0", "—", "incomplete"]
    with qtbot.waitSignal(view.runOpened, timeout=20_000):
        view.select_runs([str(run.path)])
    assert "no summary.json" in view.details.title.text()
    assert view.details.plots.point_count("val_loss") == 0 and view.details.results.summary is None
    assert not view.try_button.isEnabled() and not view.export_button.isEnabled()  # no weights yet
    with qtbot.waitSignal(window.runFinished, timeout=180_000) as finished:
        view.resume_button.click()
    assert finished.args[0]["status"] == "finished" and finished.args[0]["run_dir"] == str(run.path)
    window.tabs.setCurrentWidget(view)  # the list is read again when the Runs tab shows
    qtbot.waitUntil(lambda: view.table.item(0, 6).text() == "finished", timeout=20_000)
