"""Calibrated confidence in the window: the reliability diagram, unsure cards, Open folder buttons."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from workbench.gui.results.reliability import NO_CALIBRATION
from workbench.gui.results.view import ResultsView
from workbench.gui.runs.export_dialog import ExportDialog
from workbench.gui.try_it.view import TryItView
from workbench.runs import read_json_object


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """The folders the window asked the file manager to show (nothing is really opened)."""
    calls: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: calls.append(url.toLocalFile()) or True)
    return calls


def _calibration() -> dict:
    def rows(accuracies):
        return [{"low": i / 10, "high": (i + 1) / 10, "count": 0 if a is None else 3,
                 "confidence": None if a is None else i / 10 + 0.05, "accuracy": a}
                for i, a in enumerate(accuracies)]
    return {"checkpoint": "best", "epoch": 4, "temperature": 1.7, "images": 30, "bins": 10,
            "nll_before": 0.91, "nll_after": 0.62, "ece_before": 0.214, "ece_after": 0.043,
            "reliability_before": rows([None] * 5 + [0.2, 0.3, 0.4, 0.5, 0.6]),
            "reliability_after": rows([None] * 3 + [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])}


def test_the_results_view_draws_the_reliability_diagram(shown, tmp_path):
    view = shown(ResultsView(), size=(900, 700))
    summary = {"status": "finished", "stop_reason": "completed all 4 epochs", "class_names": ["a", "b"],
               "best_epoch": 4, "stopped_epoch": 4, "epochs": 4, "n_val": 30, "run_dir": str(tmp_path),
               "calibration": _calibration()}
    view.show_summary(summary)
    before, after = view.reliability.bar_heights
    assert before == pytest.approx([0.2, 0.3, 0.4, 0.5, 0.6])  # empty bins are not drawn
    assert after == pytest.approx([0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    assert view.reliability.after.opts["x"][0] == pytest.approx(0.35 + 0.02)  # bin centre + offset
    diagonal_x, diagonal_y = view.reliability.diagonal.getData()
    assert list(diagonal_x) == [0, 1] and list(diagonal_y) == [0, 1]
    text = view.reliability.numbers.text()
    assert "21.4% before, 4.3% after temperature scaling" in text and "temperature 1.7" in text
    assert "0.9100 → 0.6200" in text
    assert view.reliability.isVisibleTo(view)
    view.show_summary({**summary, "calibration": None})  # a run from before calibration existed
    assert view.reliability.bar_heights == ([], []) and view.reliability.numbers.text() == NO_CALIBRATION


def test_a_real_runs_calibration_is_shown(shown, trained_run):
    view = shown(ResultsView(), size=(900, 700))
    summary = read_json_object(trained_run / "summary.json")[0]
    view.show_summary(summary)
    drawn = [r["accuracy"] for r in summary["calibration"]["reliability_after"] if r["count"]]
    assert view.reliability.bar_heights[1] == pytest.approx(drawn)
    assert f"{summary['calibration']['ece_after']:.1%} after" in view.reliability.numbers.text()


def test_open_run_folder_shows_the_summarys_folder(shown, tmp_path, opened):
    view = shown(ResultsView(), size=(900, 700))
    assert not view.open_folder_button.isEnabled()  # nothing on show
    view.show_summary({"status": "finished", "run_dir": str(tmp_path), "n_val": 0})
    assert view.open_folder_button.isEnabled()
    view.open_folder_button.click()
    assert opened == [str(tmp_path)]
    view.show_summary({"status": "finished", "run_dir": str(tmp_path / "deleted"), "n_val": 0})
    assert not view.open_folder_button.isEnabled()


def test_the_runs_views_details_offer_the_run_folder(shown, past_runs, opened):
    from workbench.gui.runs.run_details import RunDetails
    from workbench.gui.runs.runs_view import read_past_run

    details = shown(RunDetails(), size=(900, 700))
    run = next(p for p in past_runs[1] if p.endswith("run-2-epochs"))
    details.show_run(read_past_run(run))
    details.results.open_folder_button.click()
    assert opened == [str(Path(run))]


def test_open_folder_after_an_export_shows_the_exports_folder(qtbot, past_runs, tmp_path, opened):
    run = Path(shutil.copytree(next(p for p in past_runs[1] if p.endswith("run-2-epochs")), tmp_path / "r"))
    dialog = ExportDialog(run)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.format.setCurrentIndex(dialog.format.findData("pt"))
    with qtbot.waitSignal(dialog.exported, timeout=120_000) as exported:
        dialog.export_button.click()
    box = dialog.message_box
    assert box.icon() == QMessageBox.Icon.Information
    button = next(b for b in box.buttons() if b.text() == "Open folder")
    button.click()
    assert opened == [str(exported.args[0].path.parent)] == [str(run / "exports")]


def test_try_it_marks_unsure_predictions_with_the_runner_up(qtbot, shown, trained_run, tiny_data):
    view = shown(TryItView(), size=(800, 600))
    with qtbot.waitSignal(view.modelLoaded, timeout=30_000):
        view.set_model(trained_run)
    assert "calibrated, temperature" in view.model_label.text()
    assert view.unsure_below.value() == 50  # the run's own threshold (the default)
    view.top_k.setValue(1)  # the runner-up is named even when only one class is shown
    images = [str(sorted(folder.glob("*.jpg"))[0]) for folder in sorted(Path(tiny_data).iterdir())
              if folder.is_dir()]
    with qtbot.waitSignal(view.predictionsShown, timeout=30_000):
        view.add_images(images)
    view.unsure_below.setValue(100)  # nothing is 100 % sure: every card says so
    for card in view.cards:
        assert card.unsure and card.runner_up is not None
        name, probability = card.runner_up
        assert f"runner-up {name} ({probability:.1%})" in card.unsure_label.text()
        assert card.top[0][1] >= probability
    view.unsure_below.setValue(0)
    assert not any(card.unsure for card in view.cards)
