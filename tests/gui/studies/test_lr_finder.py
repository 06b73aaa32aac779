"""The learning-rate finder from the window: the button beside the rate, the sweep off the GUI
thread, its plot and suggestion, and Use filling the form; a refused sweep says why."""

import math

import pytest

pytest.importorskip("pytestqt")


def _open_tiny(qtbot, window, tiny_data, batch_size):
    with qtbot.waitSignal(window.datasetOpened, timeout=30_000):
        window.open_dataset(tiny_data)
    form = window.form
    form.model.setCurrentIndex(form.model.findData("small_cnn"))
    form.image_size.setValue(32)
    form.batch_size.setValue(batch_size)


def _sweep(qtbot, window):
    with qtbot.waitSignal(window.controller.ended, timeout=120_000) as ended:
        window.settings_panel.find_lr_button.click()
    return window.studies.dialog, ended.args[0]


def test_the_sweep_is_plotted_with_its_suggestion_and_use_fills_the_form(qtbot, window, tiny_data):
    _open_tiny(qtbot, window, tiny_data, batch_size=4)
    dialog, outcome = _sweep(qtbot, window)
    assert not outcome.failed
    result = dialog.session.result
    x, _y = dialog.smooth_curve.getData()
    assert len(x) == len(result.lrs) >= 8
    assert dialog.plot.plotItem.ctrl.logXCheck.isChecked()  # a log-scale rate axis
    assert not dialog.plot.getAxis("bottom").autoSIPrefix  # rates as they are, no "(x0.001)"
    assert result.suggested_lr is not None, result.describe()
    assert "Suggested learning rate" in dialog.result_label.text()
    assert "steepest" in dialog.result_label.text() and "valley" in dialog.result_label.text()
    # The suggestion and the alternatives are marked where the log axis draws their rates.
    assert math.log10(result.suggested_lr) in [line.value() for line in dialog.markers]
    assert len(dialog.markers) == 1 + len(result.alternatives)
    assert window.session.start is None  # the sweep is not shown as a training run
    dialog.use_button.click()
    assert window.form.lr.value() == pytest.approx(result.suggested_lr, abs=1e-6)
    assert window.start_button.isEnabled()


def test_a_refused_sweep_shows_its_message(qtbot, window, tiny_data, monkeypatch):
    from workbench.studies import lr_find

    monkeypatch.setattr(lr_find, "MAX_EPOCHS", 1)
    _open_tiny(qtbot, window, tiny_data, batch_size=8)  # 6 iterations in its one epoch: too few
    dialog, outcome = _sweep(qtbot, window)
    assert outcome.failed
    assert dialog.result_label.text().startswith("Too few images for a learning-rate sweep")
    assert not dialog.use_button.isEnabled()
    assert window.start_button.isEnabled()


def test_closing_the_dialog_stops_the_sweep_and_a_new_one_can_start(qtbot, window, tiny_data):
    _open_tiny(qtbot, window, tiny_data, batch_size=4)
    window.settings_panel.find_lr_button.click()
    dialog = window.studies.dialog
    with qtbot.waitSignal(window.controller.ended, timeout=120_000):
        dialog.close()  # at once: the sweep stops after its current batch
    assert window.studies.dialog is None or not window.studies.dialog.isVisible()
    assert window.start_button.isEnabled() and window.settings_panel.find_lr_button.isEnabled()
