"""Faults during a run: out of memory, a full disk, an unwritable run folder, NaN/inf losses.

Each is injected on the CPU with the exception type the real fault raises, at a moment when
checkpoints of finished epochs exist, so the tests can check that they survive intact.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch

from workbench.config import TrainConfig
from workbench.engine import faults
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.faults import RunFault, classify
from workbench.engine.trainer import USER_ERRORS, Trainer
from workbench.runs import RunFolder


def _oom(*_args, **_kwargs):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")


def _trainer(config, out):
    trainer = Trainer(config, out=out)
    events = []
    trainer.subscribe(events.append)
    return trainer, events


def _after_epoch(trainer, epoch, action):
    trainer.subscribe(lambda e: e.kind == "epoch_end" and e.data["epoch"] == epoch and action())


def _checkpoints_intact(run, epoch):
    for which in ("best", "last"):
        state = load_checkpoint(run / "checkpoints" / f"{which}.pt")
        assert state["epoch"] <= epoch
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == epoch
    assert not list(run.rglob("*.tmp"))


@pytest.mark.parametrize("phase", ["training", "evaluation"])
def test_out_of_memory_stops_with_advice_and_keeps_the_finished_epochs(fast_config, tmp_path, phase):
    fast_config.epochs = 4
    run = tmp_path / "run"
    trainer, events = _trainer(fast_config, run)

    def break_forward():
        real = trainer.model.forward
        trainer.model.forward = lambda x: _oom() if phase == "training" or not trainer.model.training \
            else real(x)

    _after_epoch(trainer, 1, break_forward)
    with pytest.raises(RunFault) as info:
        trainer.run()
    fault = info.value.fault
    assert isinstance(info.value, USER_ERRORS)
    assert fault.reason == "out_of_memory" and fault.details["suggested_batch_size"] == 4
    message = str(info.value)
    assert "Out of memory on cpu" in message and "batch size (now 8; try 4)" in message
    assert "image size (now 32 px)" in message and f"1 finished epoch are kept in {run}" in message
    assert "--batch-size 4" in fault.cli_hint
    error = [e.data for e in events if e.kind == "error"]
    assert len(error) == 1 and error[0]["reason"] == "out_of_memory"
    assert error[0]["suggested_batch_size"] == 4 and error[0]["message"] == message
    summary = RunFolder(run).read_json(RunFolder(run).summary_path)
    assert summary["status"] == "failed" and "Out of memory" in summary["stop_reason"]
    _checkpoints_intact(run, 1)


def test_out_of_memory_advice_names_mixed_precision_only_where_it_helps():
    config = TrainConfig(batch_size=64, image_size=224, mixed_precision=False)
    gpu = classify(_catch(_oom), config=config, device="cuda:0")
    assert "mixed precision" in gpu.message and "--mixed-precision" in gpu.cli_hint
    assert "batch size (now 64; try 32)" in gpu.message and "image size (now 224 px)" in gpu.message
    cpu = classify(_catch(_oom), config=config, device="cpu")
    assert "mixed precision" not in cpu.message
    config.mixed_precision = True
    assert "mixed precision" not in classify(_catch(_oom), config=config, device="cuda:0").message
    # Other allocators say it in words, not with the exception type.
    assert classify(RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)")).reason == "out_of_memory"
    assert classify(MemoryError()).reason == "out_of_memory"
    assert classify(RuntimeError("shape mismatch")) is None  # a bug stays a bug


def _catch(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError("did not raise")


class _FullDisk:
    """Wraps the file object atomic_write_bytes writes through: half the bytes, then ENOSPC."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        self._fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


@pytest.mark.parametrize("fault", ["disk_full", "not_writable"])
def test_a_failed_checkpoint_write_keeps_the_previous_checkpoints(fast_config, tmp_path, monkeypatch,
                                                                  fault):
    import workbench.runs as runs

    fast_config.epochs = 3
    run = tmp_path / "run"
    trainer, events = _trainer(fast_config, run)
    real_fdopen, real_mkstemp = os.fdopen, runs.tempfile.mkstemp

    # Only checkpoint writes fail (they run on a background thread, so another file's write could
    # otherwise hit the fault first): this test is about what a failed checkpoint leaves behind.
    checkpoint_fds = set()

    def in_checkpoints(kwargs) -> bool:
        return Path(kwargs.get("dir", "")).name == "checkpoints"

    def break_disk():
        if fault == "disk_full":
            def mkstemp(*args, **kwargs):
                fd, name = real_mkstemp(*args, **kwargs)
                if in_checkpoints(kwargs):
                    checkpoint_fds.add(fd)
                return fd, name

            def fdopen(fd, mode):
                fh = real_fdopen(fd, mode)
                return _FullDisk(fh) if fd in checkpoint_fds else fh
            monkeypatch.setattr(runs.tempfile, "mkstemp", mkstemp)
            monkeypatch.setattr(runs.os, "fdopen", fdopen)
        else:  # the checkpoints folder became read-only: creating the temporary file is refused
            def refuse(*args, **kwargs):
                if in_checkpoints(kwargs):
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), kwargs.get("dir"))
                return real_mkstemp(*args, **kwargs)
            monkeypatch.setattr(runs.tempfile, "mkstemp", refuse)

    # Once epoch 1's checkpoints (and metrics.csv after them) are on disk, the disk breaks.
    trainer.subscribe(lambda e: e.kind == "checkpoint_saved" and e.data["epoch"] == 1
                      and e.data["which"] == "last" and break_disk())
    with pytest.raises(RunFault) as info:
        trainer.run()
    message = str(info.value)
    assert info.value.fault.reason == fault
    expected = "The disk is full: could not write" if fault == "disk_full" else "Cannot write"
    assert message.startswith(expected) and "checkpoints" + os.sep in message
    assert "The checkpoints written before are intact" in message
    assert f"workbench train --resume {run}" in message
    assert [e.data["reason"] for e in events if e.kind == "error"] == [fault]
    monkeypatch.setattr(runs.os, "fdopen", real_fdopen)
    monkeypatch.setattr(runs.tempfile, "mkstemp", real_mkstemp)
    _checkpoints_intact(run, 1)  # and no half-written temporary file is left behind

    # Space freed / folder writable again: the advised resume finishes the run, epochs continuous.
    summary = Trainer(fast_config, resume=run).run()
    assert summary["status"] == "finished" and summary["stopped_epoch"] == 3
    assert [row["epoch"] for row in RunFolder(run).read_metrics()] == [1, 2, 3]


def test_a_run_folder_that_cannot_be_created_is_a_clear_error(fast_config, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError) as info:
        Trainer(fast_config, runs_root=blocker / "runs")
    fault = classify(info.value)
    assert fault.reason == "not_writable" and str(blocker) in fault.message


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_loss_stops_with_a_reason_and_keeps_best(fast_config, tmp_path, value):
    fast_config.epochs = 3
    run = tmp_path / "run"
    trainer, _ = _trainer(fast_config, run)

    def poison():
        criterion = trainer.criterion
        trainer.criterion = lambda logits, labels: criterion(logits, labels) * value

    _after_epoch(trainer, 1, poison)
    summary = trainer.run()
    assert summary["status"] == "failed"
    assert f"loss became {value} at epoch 2, iteration 1" in summary["stop_reason"]
    assert "lower learning rate" in summary["stop_reason"]
    best = load_checkpoint(run / "checkpoints" / "best.pt")
    assert best["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in best["model"].values() if v.is_floating_point())


def test_fault_event_payload_is_plain_data():
    import json

    fault = faults.classify(OSError(errno.ENOSPC, "No space left on device", "/runs/x/metrics.csv"),
                            run_dir="/runs/x", epochs_done=2)
    assert fault.reason == "disk_full" and "could not write metrics.csv" in fault.message
    json.dumps(fault.event_data())
