"""Nothing a user has is lost: refused resumes leave the run untouched, non-run folders are never
written, a run folder has one writer, refusals known up front leave no folder, and an epoch that
scored no image is never the best."""

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from workbench.cli import main
from workbench.config import TrainConfig
from workbench.data.scan import DatasetError
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.trainer import Trainer, TrainingError
from workbench.run_lock import RunFolderBusy, lock_run_folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def finished_run(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    return run


def _resume(run, *extra):
    return main(["train", *extra, "--resume", str(run), "--epochs", "3", "--quiet"])


def test_a_resume_refused_for_other_classes_leaves_the_run_byte_identical(finished_run, tmp_path, capsys):
    other = tmp_path / "other"
    for name in ("cat", "dog"):
        (other / name).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (32, 32), (i * 40, 0, 0)).save(other / name / f"{i}.png")
    before = _snapshot(finished_run)
    assert _resume(finished_run, str(other)) == 1
    assert "differ from the run's" in capsys.readouterr().err
    assert _snapshot(finished_run) == before


def test_a_resume_refused_for_a_moved_data_folder_leaves_the_run_byte_identical(tiny_data, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    config = TrainConfig(data_dir=str(data), model="small_cnn", image_size=32, epochs=1, batch_size=8,
                         workers=1)
    Trainer(config, out=tmp_path / "run").run()
    data.rename(tmp_path / "moved")
    before = _snapshot(tmp_path / "run")
    assert _resume(tmp_path / "run") == 1
    assert str(data) in capsys.readouterr().err
    assert _snapshot(tmp_path / "run") == before


@pytest.mark.parametrize("damage", [b"", b"not a checkpoint at all", b"PK\x03\x04broken zip"])
def test_a_resume_refused_for_a_damaged_last_checkpoint_leaves_the_run_byte_identical(
        finished_run, capsys, damage):
    (finished_run / "checkpoints" / "last.pt").write_bytes(damage)
    before = _snapshot(finished_run)
    assert _resume(finished_run) == 1
    err = capsys.readouterr().err
    assert "error: Cannot read checkpoint" in err and "last.pt" in err and "Traceback" not in err
    assert _snapshot(finished_run) == before


def test_a_checkpoint_without_its_keys_is_refused_with_the_folder_unchanged(finished_run, capsys):
    import torch

    torch.save({"class_names": ["circle", "square", "star", "triangle"]},
               finished_run / "checkpoints" / "last.pt")
    before = _snapshot(finished_run)
    assert _resume(finished_run) == 1
    assert "Cannot resume from" in capsys.readouterr().err
    assert _snapshot(finished_run) == before


@pytest.mark.parametrize("resume", ["", ".", "not-a-run"])
def test_resume_refuses_folders_that_are_not_runs_before_touching_them(fast_config, tmp_path, monkeypatch,
                                                                         resume):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "config.json").write_text(json.dumps(fast_config.to_dict()))  # a user's own file
    (tmp_path / ".notes.tmp").write_text("mine")
    before = _snapshot(tmp_path)
    with pytest.raises(TrainingError, match="Resume needs a run folder|is not a Workbench run folder"):
        Trainer(fast_config, resume=resume)
    assert _snapshot(tmp_path) == before


def test_a_run_folder_has_one_writer(fast_config, finished_run):
    held = lock_run_folder(finished_run)
    before = _snapshot(finished_run)
    with pytest.raises(RunFolderBusy, match=r"in use by another Workbench process \(process \d+ on "):
        Trainer(fast_config, resume=finished_run)
    assert _snapshot(finished_run) == before
    held.release()
    trainer = Trainer(fast_config, resume=finished_run)  # free again once the holder lets go
    with pytest.raises(RunFolderBusy):
        lock_run_folder(finished_run)  # and held by the trainer
    trainer.run()
    lock_run_folder(finished_run).release()  # the run has ended: released


def test_refusals_known_before_training_leave_no_run_folder(tmp_path):
    data = tmp_path / "data"
    for name in ("a", "b"):
        (data / name).mkdir(parents=True)
        Image.new("RGB", (32, 32)).save(data / name / "only.png")
    config = TrainConfig(data_dir=str(data), model="small_cnn", image_size=32, epochs=1, batch_size=1,
                         workers=1)
    with pytest.raises(DatasetError):
        Trainer(config, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_an_events_file_in_a_missing_folder_is_refused_before_any_run_folder(fast_config, tmp_path, capsys):
    code = main(["train", fast_config.data_dir, "--image-size", "32", "--out", str(tmp_path / "run"),
                 "--events-jsonl", str(tmp_path / "missing" / "events.jsonl")])
    assert code == 2
    assert "cannot write the events file" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_an_epoch_that_scored_no_image_is_never_the_best(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    config = TrainConfig(data_dir=str(data), model="small_cnn", image_size=32, epochs=4, batch_size=8,
                         workers=0, cache_budget_mb=0, disk_cache_mb=0)  # streamed every epoch
    trainer = Trainer(config, out=tmp_path / "run")

    def overwrite_validation_images(event):
        if event.kind == "epoch_end" and event.data["epoch"] == 1:
            for path in trainer.data.val.paths:
                Path(path).write_bytes(b"overwritten")

    trainer.subscribe(overwrite_validation_images)
    summary = trainer.run()
    assert summary["status"] == "failed"
    assert "no validation image could be read in epoch 2" in summary["stop_reason"]
    assert summary["best_epoch"] == 1 and summary["stopped_epoch"] == 1
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")["epoch"] == 1
    log = (tmp_path / "run" / "train.log").read_text()
    assert all(f"Skipped {path}" in log for path in trainer.data.val.paths)  # listed, as at the scan
