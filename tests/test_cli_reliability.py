"""`workbench train` on hostile folders and through faults: a message, an exit code, no traceback."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_data as hostile  # noqa: E402

from workbench.cli import main  # noqa: E402
from workbench.engine.checkpoint import load_checkpoint  # noqa: E402

QUICK = ["--image-size", "32", "--batch-size", "8", "--workers", "1"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          timeout=300)


def test_training_on_the_hostile_folder_skips_what_it_must_and_trains_on_the_rest(tmp_path):
    data = hostile.make_hostile_dataset(tmp_path / "messy photos")
    run = tmp_path / "run"
    result = _cli("train", str(data.root), "--epochs", "1", "--out", str(run), *QUICK)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for name, words in {**data.skipped, **data.decode_skipped}.items():
        line = next((ln for ln in result.stderr.splitlines() if name in ln and words in ln), None)
        assert line, f"{name} ({words}) not reported:\n{result.stderr}"
    assert "class folder 'empty class' has no usable images" in result.stderr
    report = json.loads((run / "scan_report.json").read_text())
    listed = {Path(s["path"]).name for s in report["skipped"]}
    assert set(data.skipped) | set(data.decode_skipped) <= listed  # the decode failure is kept too
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["class_names"] == data.class_names
    assert summary["n_train"] + summary["n_val"] == sum(report["images_per_class"].values()) - 1
    load_checkpoint(run / "checkpoints" / "best.pt")


@pytest.mark.parametrize(("make", "message"), [
    (hostile.single_class, "Only one class ('only_class') has usable images"),
    (hostile.no_images, "No usable images found"),
    (hostile.empty_class_folders, "No usable images found"),
    (lambda root: root / "does not exist", "Folder "),
])
def test_a_folder_that_cannot_be_trained_on_is_refused_before_training(tmp_path, capsys, make, message):
    root = make(tmp_path / "data")
    assert main(["train", str(root), "--out", str(tmp_path / "run"), *QUICK]) == 1
    err = capsys.readouterr().err
    assert f"error: {message}" in err and "Training small_cnn" not in err
    assert not (tmp_path / "run" / "checkpoints" / "last.pt").exists()


def test_the_refusal_from_the_real_command_has_no_traceback(tmp_path):
    result = _cli("train", str(hostile.single_class(tmp_path / "data")), "--out", str(tmp_path / "r"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "a classifier needs at least two" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--epochs", "0"], "epochs must be between 1"),
    (["--batch-size", "0"], "batch size must be between 1"),
    (["--lr", "-0.1"], "learning rate must be > 0"),
    (["--model", "resnet9000"], "unknown model 'resnet9000'"),
    (["--val-fraction", "1.5"], "validation fraction must be between 0 and 1"),
    (["--batch-size", "500"], "Batch size 500 is larger than the 52 training images"),
])
def test_out_of_range_settings_are_refused_with_the_reason(tiny_data, tmp_path, capsys, args, message):
    assert main(["train", str(tiny_data), "--out", str(tmp_path / "run"), *QUICK, *args]) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_patience_beyond_the_epochs_is_allowed_and_said(tiny_data, tmp_path, capsys):
    assert main(["train", str(tiny_data), "--out", str(tmp_path / "run"), "--epochs", "1",
                 "--patience", "5", *QUICK]) == 0
    assert "Note: Patience 5 ≥ epochs 1: early stopping cannot trigger." in capsys.readouterr().err


def test_out_of_memory_names_the_flag_to_lower_and_keeps_the_checkpoints(tiny_data, tmp_path, capsys,
                                                                         monkeypatch):
    from workbench.engine import trainer as trainer_module

    real_build = trainer_module.build_model
    calls = [0]

    def build_then_break(*args, **kwargs):
        model = real_build(*args, **kwargs)
        forward = model.forward

        def forward_until_epoch_two(x):  # 7 training + 1 validation batch per epoch
            calls[0] += 1
            if calls[0] > 8:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB (simulated)")
            return forward(x)

        model.forward = forward_until_epoch_two
        return model

    monkeypatch.setattr(trainer_module, "build_model", build_then_break)
    run = tmp_path / "run"
    assert main(["train", str(tiny_data), "--out", str(run), "--epochs", "3", *QUICK]) == 1
    err = capsys.readouterr().err
    assert "error: Out of memory on cpu while training at batch size 8" in err
    assert "hint: run again with --batch-size 4, or a smaller --image-size than 32" in err
    assert "Traceback" not in err
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 1


def test_a_full_disk_mid_run_is_an_error_that_keeps_the_checkpoints(tiny_data, tmp_path, capsys,
                                                                    monkeypatch):
    import workbench.runs as runs

    real_mkstemp = runs.tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if (tmp_path / "run" / "metrics.csv").exists():  # epoch 1 is on disk: now the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(runs.tempfile, "mkstemp", mkstemp)
    run = tmp_path / "run"
    assert main(["train", str(tiny_data), "--out", str(run), "--epochs", "3", *QUICK]) == 1
    err = capsys.readouterr().err
    assert "error: The disk is full: could not write checkpoints" in err
    assert f"The checkpoints written before are intact. Free some space, then continue the run with " \
           f"`workbench train --resume {run}`." in err
    assert "Traceback" not in err
    monkeypatch.undo()
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 1
    assert main(["train", "--resume", str(run)]) == 0  # space freed: the advice works
    assert [r.split(",")[0] for r in (run / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2", "3"]


def test_an_unusable_runs_folder_is_a_clear_error(tiny_data, tmp_path):
    blocker = tmp_path / "runs-file"
    blocker.write_text("a file where the runs folder should be")
    result = _cli("train", str(tiny_data), "--runs-dir", str(blocker / "runs"), *QUICK)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"error: Cannot write {blocker}" in result.stderr


def test_an_unreadable_folder_is_refused_with_the_system_reason(tmp_path, capsys, monkeypatch):
    root = hostile.single_class(tmp_path / "data")
    real_scandir = os.scandir

    def refuse(path="."):  # chmod 000 does not stop root, who runs these tests in CI
        if Path(path) == root:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    assert main(["train", str(root), "--out", str(tmp_path / "run"), *QUICK]) == 1
    assert f"error: Cannot read folder {root}: Permission denied" in capsys.readouterr().err


def test_resuming_from_a_damaged_checkpoint_says_which_file(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(tiny_data), "--out", str(run), "--epochs", "1", *QUICK]) == 0
    last = run / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:1000])  # e.g. copied by a tool that stopped half-way
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 1
    err = capsys.readouterr().err
    assert f"error: Cannot read checkpoint {last}: the file is damaged" in err and "Traceback" not in err
