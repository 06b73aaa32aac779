"""Search from the window: a 2-trial, 2-epoch search stopped after the first epoch, resumed to its
end; the table, the history, the importances, Use these settings, Open run; a refused space."""

import pytest

pytest.importorskip("pytestqt")

from workbench.engine import events as ev  # noqa: E402


def _tiny_search(window, form):
    view = window.search_view
    for row in view.editor.rows:
        row.search.setChecked(row.name == "lr")
    view.editor.row("lr").low.setText("1e-4")
    view.editor.row("lr").high.setText("1e-2")
    view.trials.setValue(2)
    view.sampler.setCurrentIndex(view.sampler.findData("random"))
    view.pruner.setCurrentIndex(view.pruner.findData("none"))
    return form, view


def test_a_search_stopped_and_resumed_fills_the_table_and_plots_and_hands_back_its_best(
        qtbot, window, tiny_study_form):
    form, view = _tiny_search(window, tiny_study_form)
    assert "2 trials × up to 2 epochs" in view.estimate_label.text()
    assert view.start_button.isEnabled() and view.start_problem.text() == ""

    def stop_after_first_epoch(event):
        # Asked as epoch 1 starts (a whole epoch before the trial could finish epoch 2): Stop lets
        # the trial finish the epoch it is in, then ends it.
        if isinstance(event, ev.EpochStart) and event.epoch == 1:
            window.controller.stop()

    window.controller.event.connect(stop_after_first_epoch)
    with qtbot.waitSignal(window.controller.ended, timeout=240_000):
        view.start_button.click()
    window.controller.event.disconnect(stop_after_first_epoch)
    assert window.tabs.currentWidget() is view
    assert view.table.rowCount() == 1 and view.table.item(0, 1).text() == "stopped"
    assert view.table.item(0, 3).text() == "1"  # the epoch in progress was finished and kept
    assert "Stopped after 0 of 2 trials" in view.status_label.text()
    assert view.resume_button.isEnabled() and not view.use_button.isEnabled()

    with qtbot.waitSignal(window.controller.ended, timeout=240_000) as ended:
        view.resume_button.click()
    summary = ended.args[0].summary
    assert summary["complete"] == 2
    states = [view.table.item(r, 1).text() for r in range(view.table.rowCount())]
    values = [view.table.item(r, 2).text() for r in range(view.table.rowCount())]
    assert states == ["complete", "complete"] and all(v != "—" for v in values)
    assert [view.table.item(r, 3).text() for r in range(2)] == ["2", "2"]  # trial 0 continued
    assert view.table.horizontalHeaderItem(5).text() == "lr"
    assert view.plots.point_count() == 2
    assert view.curves.point_count("val_loss") == 2  # the last trial's epochs
    assert view.best_label.text().startswith(f"Best trial {summary['best']['number']}")
    qtbot.waitUntil(lambda: set(view.plots.importances) == {"lr"}, timeout=60_000)

    view.use_button.click()
    assert form.config().lr == pytest.approx(summary["best"]["params"]["lr"], rel=1e-3)

    view.table.selectRow(0)
    assert view.open_button.isEnabled()
    runs = window.runs_view
    with qtbot.waitSignal(runs.runOpened, timeout=30_000) as opened:
        view.open_button.click()
    trial_dir = summary["trials"][0]["run_dir"]
    assert window.tabs.currentWidget() is runs
    assert runs.selected_paths() == [trial_dir] and opened.args[0]["path"] == trial_dir
    assert runs.table.rowCount() == 2 and runs.back_button.isVisible()


def test_a_bad_search_space_is_refused_with_its_reason(qtbot, window, tiny_study_form):
    _, view = _tiny_search(window, tiny_study_form)
    lr = view.editor.row("lr")
    lr.low.setText("0.5")
    assert not view.start_button.isEnabled()
    assert "from (0.5) must be less than to (0.01)" in view.start_problem.text()
    assert "must be less than" in lr.problem.text()
    lr.low.setText("1e-4")
    assert view.start_button.isEnabled() and lr.problem.text() == ""
    optimizer = view.editor.row("optimizer")
    optimizer.search.setChecked(True)
    optimizer.values.setText(" , ")
    assert "optimizer: give at least one of the choices" in view.start_problem.text()
    optimizer.values.setText("adam, adan")
    assert "adan is refused" in optimizer.problem.text() and not view.start_button.isEnabled()
    for row in view.editor.rows:
        row.search.setChecked(False)
    assert "tick at least one setting" in view.start_problem.text()
