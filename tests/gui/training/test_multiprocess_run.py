"""The window's multi-process path: torchrun with 2 CPU processes (gloo), shown like any run."""

from workbench.engine.events import EpochEnd
from workbench.gui.training.process_run import crash_message


def _open(qtbot, window, path):
    with qtbot.waitSignal(window.datasetOpened, timeout=30_000):
        window.open_dataset(path)


def test_two_process_run_fills_the_plots_and_stops_cleanly(qtbot, window, tiny_data, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PROCESSES", "2")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    _open(qtbot, window, tiny_data)
    form = window.form
    form.model.setCurrentIndex(form.model.findData("small_cnn"))
    # 64 px: epochs long enough that the stop (JSON line -> window -> stop file -> ranks) lands
    # within the next epoch even on a busy 2-core machine.
    form.image_size.setValue(64)
    form.batch_size.setValue(8)
    form.epochs.setValue(100)
    form.early_stopping.setChecked(False)
    assert form.derived.text().startswith(
        "52 training images ÷ (batch 8 × 2 processes = effective batch 16) = 4 iterations per epoch")
    epochs = []

    def on_event(event):
        if isinstance(event, EpochEnd):
            epochs.append(event.epoch)
            if event.epoch == 2:
                window.stop_button.click()  # reaches both processes through the stop file

    window.controller.event.connect(on_event)
    with qtbot.waitSignal(window.runFinished, timeout=240_000) as blocker:
        window.start_button.click()
        assert window.controller.running and window.stop_button.isEnabled()
    summary = blocker.args[0]
    assert summary is not None, window.last_error
    assert summary["status"] == "stopped" and summary["processes"] == 2
    assert summary["weights_identical_across_processes"] is True
    assert 2 <= summary["stopped_epoch"] <= 3 and epochs[:2] == [1, 2]
    assert window.plots.point_count("train_loss") >= 2 and window.plots.point_count("val_acc") >= 2
    assert window.plots.point_count("iter_raw") >= 2 * 4
    assert "2 processes" in window.log.toPlainText()
    qtbot.waitUntil(lambda: not window.controller.running and window.start_button.isEnabled())


def test_processes_that_die_without_an_error_event_are_described_by_exit_code_and_stderr():
    # The user's message of a failure arrives as an Error event (see the refused run below);
    # stderr is only the fallback for a crash.
    assert crash_message("boom\n", 3).startswith("The training processes ended with exit code 3.")
    assert crash_message("boom\n", 3).endswith("boom")


def test_gpus_setting_shows_with_several_gpus_and_gives_the_effective_batch(qtbot, monkeypatch):
    from workbench.gui import settings_form

    monkeypatch.delenv("WORKBENCH_PROCESSES", raising=False)
    monkeypatch.setattr(settings_form, "_cuda_device_count", lambda: 4)
    form = settings_form.SettingsForm()
    qtbot.addWidget(form)
    layout = form.gpus.parentWidget().layout()
    assert layout.isRowVisible(form.gpus) and form.gpus.value() == 4 and form.gpus.maximum() == 4
    form.set_training_count(320)
    form.batch_size.setValue(32)
    form.epochs.setValue(10)
    assert form.processes() == 4
    assert form.derived.text() == ("320 training images ÷ (batch 32 × 4 GPUs = effective batch 128) = "
                                   "3 iterations per epoch; 10 epochs = 30 iterations")
    form.batch_size.setValue(100)
    assert "larger than the 80 training images per process" in form.problem_labels["batch_size"].text()
    form.device.setCurrentIndex(form.device.findData("cpu"))
    assert form.processes() == 1 and form.derived.text().startswith("320 training images ÷ batch 100")


def test_gpus_setting_is_hidden_with_one_gpu(qtbot, monkeypatch):
    from workbench.gui import settings_form

    monkeypatch.delenv("WORKBENCH_PROCESSES", raising=False)
    monkeypatch.setattr(settings_form, "_cuda_device_count", lambda: 1)
    form = settings_form.SettingsForm()
    qtbot.addWidget(form)
    assert not form.gpus.parentWidget().layout().isRowVisible(form.gpus)
    assert form.processes() == 1


def test_a_refused_multi_process_run_shows_the_reason_in_the_window(qtbot, window, fast_config, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("not a run")
    window.controller.processes = 2
    with qtbot.waitSignal(window.controller.failed, timeout=120_000) as blocker:
        window.controller.start(fast_config, out=str(taken))
    assert blocker.args[0].startswith(f"Run folder {taken} already exists and is not empty")
    qtbot.waitUntil(lambda: not window.controller.running)
    assert (taken / "notes.txt").read_text() == "not a run"


def test_a_run_that_outlives_the_wait_gets_sigterm_and_still_ends_cleanly(qtbot, window, fast_config,
                                                                          tmp_path, monkeypatch):
    """Closing the window waits, then sends torchrun SIGTERM: it passes the signal to both
    processes, whose handlers stop them after the same batch, so the run folder is complete."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    fast_config.epochs = 200
    window.controller.processes = 2
    summaries = []
    window.controller.finished.connect(summaries.append)
    with qtbot.waitSignal(window.controller.event, timeout=120_000,
                          check_params_cb=lambda e: isinstance(e, EpochEnd)):
        window.controller.start(fast_config, out=str(tmp_path / "run"))
    assert window.controller.wait(1)  # no stop asked: SIGTERM after 1 ms
    qtbot.waitUntil(lambda: not window.controller.running)
    assert summaries and summaries[0]["status"] == "stopped"
    assert summaries[0]["weights_identical_across_processes"] is True
    assert (tmp_path / "run" / "checkpoints" / "last.pt").exists()
