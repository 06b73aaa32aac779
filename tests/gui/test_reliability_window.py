"""The window facing hostile folders, refused settings and faults: it explains, and stays usable."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest
import torch
from PySide6.QtWidgets import QMessageBox, QPushButton

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hostile_data as hostile  # noqa: E402

from workbench.config import TrainConfig  # noqa: E402


def _open(qtbot, window, path):
    with qtbot.waitSignal(window.datasetOpened, timeout=30_000) as blocker:
        window.open_dataset(path)
    return blocker.args[0]


def _quick(window, epochs=1, batch=8):
    window.form.image_size.setValue(32)
    window.form.batch_size.setValue(batch)
    window.form.epochs.setValue(epochs)


def _skipped_rows(window) -> dict[str, str]:
    table = window.dataset_panel._skipped
    return {Path(table.item(r, 0).toolTip()).name: table.item(r, 1).text() for r in range(table.rowCount())}


def _run(qtbot, window, timeout=120_000):
    with qtbot.waitSignal(window.runFinished, timeout=timeout) as blocker:
        window.start_button.click()
    return blocker.args[0]


def test_the_hostile_folder_lists_every_skipped_file_and_trains_on_the_rest(qtbot, window, tmp_path):
    data = hostile.make_hostile_dataset(tmp_path / "messy photos")
    scan = _open(qtbot, window, data.root)
    assert scan.class_names == data.class_names
    rows = _skipped_rows(window)
    for name, words in data.skipped.items():
        assert words in rows.get(name, ""), (name, rows)
    assert "empty class" in window.dataset_panel._empty.text()
    _quick(window)
    summary = _run(qtbot, window)
    assert summary["status"] == "finished"
    # The truncated JPEG passes the header scan and fails decoding: the run adds it to the list.
    rows = _skipped_rows(window)
    for name, words in data.decode_skipped.items():
        assert words in rows.get(name, ""), (name, rows)
    assert "truncated.jpg" in window.log.toPlainText()


@pytest.mark.parametrize(("make", "reason"), [
    (hostile.single_class, "Only one class ('only_class') has usable images"),
    (hostile.no_images, "No usable images found"),
    (lambda root: root / "missing", "does not exist"),
])
def test_a_folder_that_cannot_be_trained_on_is_refused_with_the_reason(qtbot, window, tmp_path, make, reason):
    assert _open(qtbot, window, make(tmp_path / "data")) is None
    error = window.dataset_panel._error
    assert error.isVisible() and reason in error.text()
    assert not window.start_button.isEnabled()
    tip = window.start_button.toolTip()
    assert tip.startswith("Cannot start: the image folder cannot be trained on:") and reason in tip
    window.start_training()
    assert not window.controller.running
    message = window.statusBar().currentMessage()
    assert message.startswith("Cannot start: the image folder cannot be trained on:") and reason in message


def test_settings_out_of_range_cannot_be_entered_and_the_rest_are_refused_inline(qtbot, window, tiny_data):
    _open(qtbot, window, tiny_data)
    form = window.form
    form.epochs.setValue(0)
    form.lr.setValue(-0.5)
    assert form.epochs.value() == 1 and form.lr.value() > 0  # the fields hold no out-of-range value
    form.set_config(TrainConfig(model="resnet9000"))  # e.g. settings saved by another version
    assert form.model.currentData() != "resnet9000"  # the list offers known models only
    assert not any("unknown model" in p for p in form.problems())
    form.batch_size.setValue(500)
    assert "batch size 500 is larger than the 52 training images" in form.problem_labels["batch_size"].text()
    window.start_training()
    assert not window.controller.running and "Cannot start" in window.statusBar().currentMessage()
    form.batch_size.setValue(8)
    form.epochs.setValue(2)
    form.patience.setValue(4)
    assert form.problems_label.text() == "" and form.problem_labels["batch_size"].text() == ""
    assert "Patience 4 ≥ epochs 2: early stopping cannot trigger." in form.notes_label.text()


def test_out_of_memory_offers_a_retry_with_half_the_batch_size(qtbot, window, tiny_data, monkeypatch):
    from workbench.engine import trainer as trainer_module

    real_build = trainer_module.build_model
    failures = [1]  # the first forward pass of the session runs out of memory, later ones do not

    def build(*args, **kwargs):
        model = real_build(*args, **kwargs)
        forward = model.forward

        def maybe_oom(x):
            if failures[0]:
                failures[0] -= 1
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 3.00 GiB (simulated)")
            return forward(x)

        model.forward = maybe_oom
        return model

    monkeypatch.setattr(trainer_module, "build_model", build)
    _open(qtbot, window, tiny_data)
    _quick(window, epochs=1, batch=16)
    assert _run(qtbot, window) is None
    box = window._error_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert box.text().startswith("Out of memory on cpu while training at batch size 16")
    assert "Out of memory" in window.log.toPlainText()
    retry = box.findChild(QPushButton, "retryButton")
    assert retry.text() == "Retry with batch size 8"
    with qtbot.waitSignal(window.runFinished, timeout=120_000) as blocker:
        retry.click()
    assert blocker.args[0]["status"] == "finished"
    assert window.form.batch_size.value() == 8
    assert blocker.args[0]["run_dir"] == window.run_dir


def test_a_full_disk_is_reported_and_the_window_can_train_again(qtbot, window, tiny_data, monkeypatch):
    import workbench.runs as runs

    real_mkstemp = runs.tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if window.run_dir and (Path(window.run_dir) / "metrics.csv").exists():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(runs.tempfile, "mkstemp", mkstemp)
    _open(qtbot, window, tiny_data)
    _quick(window, epochs=3)
    assert _run(qtbot, window) is None
    text = window._error_box.text()
    assert text.startswith("The disk is full: could not write") and "intact" in text
    assert window._error_box.findChild(QPushButton, "retryButton") is None
    from workbench.engine.checkpoint import load_checkpoint

    assert load_checkpoint(Path(window.run_dir) / "checkpoints" / "last.pt")["epoch"] == 1
    monkeypatch.undo()
    qtbot.waitUntil(lambda: window.start_button.isEnabled())
    assert _run(qtbot, window)["status"] == "finished"


def test_an_unexpected_worker_error_shows_a_dialog_logs_the_traceback_and_leaves_the_window_usable(
        qtbot, window, tiny_data, monkeypatch):
    from workbench.engine import trainer as trainer_module

    def broken(*args, **kwargs):
        raise KeyError("simulated bug in the engine")

    monkeypatch.setattr(trainer_module, "build_model", broken)
    _open(qtbot, window, tiny_data)
    _quick(window)
    assert _run(qtbot, window) is None
    box = window._error_box
    assert box.isVisible() and box.windowTitle() == "Training failed"
    assert box.text().startswith("Unexpected error: KeyError") and "Traceback" not in box.text()
    log = window.log.toPlainText()
    assert "Traceback (most recent call last)" in log and "simulated bug in the engine" in log
    box.close()
    monkeypatch.undo()
    qtbot.waitUntil(lambda: window.start_button.isEnabled())
    assert _open(qtbot, window, tiny_data) is not None  # the rest of the window still works
    assert _run(qtbot, window)["status"] == "finished"


def test_a_nan_loss_ends_the_run_with_the_reason_shown_and_best_kept(qtbot, window, tiny_data, monkeypatch):
    from workbench.engine import trainer as trainer_module
    from workbench.engine.checkpoint import load_checkpoint

    class PoisonedLoss(torch.nn.CrossEntropyLoss):
        calls = 0

        def forward(self, logits, labels):  # 7 training + 1 validation batch make epoch 1
            PoisonedLoss.calls += 1
            loss = super().forward(logits, labels)
            return loss * float("nan") if PoisonedLoss.calls > 8 else loss

    monkeypatch.setattr(trainer_module.nn, "CrossEntropyLoss", PoisonedLoss)
    _open(qtbot, window, tiny_data)
    _quick(window, epochs=3)
    summary = _run(qtbot, window)
    assert summary["status"] == "failed"
    assert "loss became nan at epoch 2, iteration 1" in window.statusBar().currentMessage()
    assert "training diverged; try a lower learning rate" in window.log.toPlainText()
    assert load_checkpoint(Path(window.run_dir) / "checkpoints" / "best.pt")["epoch"] == 1
    qtbot.waitUntil(lambda: window.start_button.isEnabled())
