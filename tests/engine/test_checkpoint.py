"""Checkpoint writing: one write for best + last, in the background, atomic, errors not lost."""

import os
import threading

import pytest
import torch

from workbench.engine import checkpoint as ckpt
from workbench.engine.checkpoint import CheckpointWriter, load_checkpoint, write_checkpoint_files
from workbench.engine.faults import RunFault
from workbench.engine.trainer import Trainer


def _state(value: float) -> dict:
    return {"epoch": int(value), "model": {"w": torch.full((4,), value)}}


def test_best_and_last_of_one_epoch_share_one_file_until_last_moves_on(tmp_path):
    best, last = tmp_path / "best.pt", tmp_path / "last.pt"
    write_checkpoint_files([best, last], ckpt.serialise_checkpoint(_state(1)))
    assert load_checkpoint(best)["epoch"] == load_checkpoint(last)["epoch"] == 1
    assert os.stat(best).st_ino == os.stat(last).st_ino  # a hard link, not a second write
    write_checkpoint_files([last], ckpt.serialise_checkpoint(_state(2)))
    assert load_checkpoint(last)["epoch"] == 2
    assert load_checkpoint(best)["epoch"] == 1  # replacing last.pt left best.pt alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]  # no temp files


def test_without_hard_links_the_bytes_are_written_twice(tmp_path, monkeypatch):
    def no_links(*_args):
        raise OSError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    best, last = tmp_path / "best.pt", tmp_path / "last.pt"
    write_checkpoint_files([best, last], ckpt.serialise_checkpoint(_state(3)))
    assert load_checkpoint(best)["epoch"] == load_checkpoint(last)["epoch"] == 3
    assert os.stat(best).st_ino != os.stat(last).st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]


def test_the_snapshot_is_taken_when_save_returns(tmp_path, monkeypatch):
    # Training changes the weights in place right after save(); the file must hold the old ones.
    release = threading.Event()
    real_write = ckpt.write_checkpoint_files

    def slow_write(paths, data):
        release.wait(10)
        real_write(paths, data)

    monkeypatch.setattr(ckpt, "write_checkpoint_files", slow_write)
    weights = torch.zeros(4)
    writer = CheckpointWriter()
    writer.save([tmp_path / "last.pt"], {"model": {"w": weights}}, tag="epoch 1")
    weights.add_(5)  # the next training step
    assert writer.completed() == []  # still in flight
    assert not (tmp_path / "last.pt").exists()
    release.set()
    assert writer.wait() == ["epoch 1"]
    assert torch.equal(load_checkpoint(tmp_path / "last.pt")["model"]["w"], torch.zeros(4))


def test_a_failed_background_write_is_raised_on_the_training_thread(tmp_path, monkeypatch):
    def disk_full(paths, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt, "write_checkpoint_files", disk_full)
    writer = CheckpointWriter()
    writer.save([tmp_path / "last.pt"], _state(1))
    with pytest.raises(OSError, match="No space left"):
        writer.wait()
    writer.save([tmp_path / "last.pt"], _state(2))
    with pytest.raises(OSError, match="No space left"):
        writer.save([tmp_path / "last.pt"], _state(3))  # the next save reports the previous failure


def test_checkpoint_saved_events_arrive_on_the_training_thread_once_the_file_is_there(fast_config, tmp_path):
    fast_config.epochs = 3
    trainer = Trainer(fast_config, out=tmp_path / "run")
    seen = []

    def check(event):
        if event.kind == "checkpoint_saved":
            assert threading.current_thread() is threading.main_thread()
            seen.append((event.data["which"], event.data["epoch"]))
            assert load_checkpoint(event.data["path"])["epoch"] == event.data["epoch"]

    trainer.subscribe(check)
    trainer.run()
    assert [s for s in seen if s[0] == "last"] == [("last", 1), ("last", 2), ("last", 3)]
    assert ("best", 1) in seen


def test_a_run_whose_checkpoint_cannot_be_written_fails_with_that_error(fast_config, tmp_path, monkeypatch):
    def disk_full(paths, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt, "write_checkpoint_files", disk_full)
    trainer = Trainer(fast_config, out=tmp_path / "run")
    # The background writer's error reaches the training thread, where the fault advice takes over.
    with pytest.raises(RunFault, match="The disk is full") as failure:
        trainer.run()
    assert isinstance(failure.value.__cause__, OSError)
    assert "The disk is full" in (tmp_path / "run" / "summary.json").read_text()
