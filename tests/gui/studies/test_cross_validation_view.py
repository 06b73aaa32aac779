"""Cross-validation from the window: a 2-fold, 2-epoch study stopped in its second fold, resumed,
recommending an epoch count with the band drawn; then Train final model trains it."""

import pytest

pytest.importorskip("pytestqt")

from workbench.engine import events as ev  # noqa: E402


def test_a_stopped_study_resumes_recommends_and_trains_the_final_model(qtbot, window, tiny_study_form):
    view = window.cross_validation
    view.folds.setValue(2)
    assert "known after its first epoch" in view.estimate_label.text()

    def stop_in_fold_two(event):
        if isinstance(event, ev.EpochEnd) and window.studies.study.fold == 2:
            window.controller.stop()

    window.controller.event.connect(stop_in_fold_two)
    with qtbot.waitSignal(window.controller.ended, timeout=240_000):
        view.start_button.click()
    window.controller.event.disconnect(stop_in_fold_two)
    assert window.tabs.currentWidget() is view
    assert view.resume_button.isEnabled() and not view.final_button.isEnabled()
    assert "Stopped after 1 of 2 folds" in view.status_label.text()

    with qtbot.waitSignal(window.controller.ended, timeout=240_000) as ended:
        view.resume_button.click()
    summary = ended.args[0].summary
    assert summary["complete"]
    assert view.sentence_label.text().startswith(f"{summary['recommended_epochs']} epochs: mean "
                                                 "validation accuracy")
    assert view.curves.band_points() == 2
    assert [line.value() for line in view.curves.markers] == [summary["recommended_epochs"]] * 2
    assert set(view.curves.fold_curves["val_loss"]) == {1, 2}
    assert "s per epoch" in view.estimate_label.text()  # the next study's time, from this one's pace

    starts = []
    window.controller.event.connect(lambda e: starts.append(e) if isinstance(e, ev.RunStart) else None)
    with qtbot.waitSignal(window.runFinished, timeout=240_000) as finished:
        view.final_button.click()
    assert finished.args[0]["status"] == "finished"
    assert starts[0].n_val == 0 and starts[0].epochs == summary["recommended_epochs"]
    assert window.results.summary is finished.args[0]
