"""The command line, end to end on the sample data and with user mistakes."""

import json
import subprocess
import sys

import pytest

from workbench import __version__
from workbench.cli import _flag, build_parser, config_from_args, main
from workbench.config import all_settings
from workbench.resources_path import sample_data_dir


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_end_to_end_train_on_the_bundled_sample_data(tmp_path):
    run = tmp_path / "run"
    result = _cli("train", "--epochs", "2", "--image-size", "32", "--batch-size", "16", "--out", str(run))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("best epoch ")
    assert "completed all 2 epochs" in result.stdout
    assert "Dataset " in result.stderr and "circle" in result.stderr  # the scan report is printed
    assert "Epoch 2/2: train loss" in result.stderr
    for name in ("config.json", "metrics.csv", "summary.json", "scan_report.json", "train.log",
                 "checkpoints/best.pt", "checkpoints/last.pt"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert summary["dataset"] == str(sample_data_dir())
    assert len(summary["class_names"]) == 4


def test_resume_with_more_epochs_continues_the_run(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    common = ["--image-size", "32", "--batch-size", "8", "--workers", "1"]
    assert main(["train", str(tiny_data), "--epochs", "1", "--out", str(run), *common]) == 0
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 0
    rows = (run / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    assert json.loads((run / "config.json").read_text())["epochs"] == 3
    assert "best epoch" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--epochs", "0"], "epochs must be between 1"),
        (["train", "--lr", "-1"], "learning rate must be > 0"),
        (["train", "--model", "resnet9000"], "unknown model 'resnet9000'"),
        (["train", "/no/such/folder"], "does not exist"),
        (["train", "--resume", "/no/such/run"], "is not a Workbench run folder"),
        (["train", "--batch-size", "5000", "--image-size", "32"], "larger than the"),
    ],
)
def test_user_mistakes_get_a_message_and_a_non_zero_exit(args, message, tmp_path, capsys):
    assert main([*args, "--out", str(tmp_path / "run")]) != 0  # returns, never raises
    assert message in capsys.readouterr().err


def test_a_mistake_prints_no_traceback_from_the_real_command(tmp_path):
    result = _cli("train", "--lr", "-1", "--epochs", "0")
    assert result.returncode == 2
    assert "learning rate must be > 0" in result.stderr and "epochs must be between 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_flag_with_the_wrong_type_is_refused(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--epochs", "ten"])
    assert info.value.code == 2
    assert "--epochs needs a whole number, got 'ten'" in capsys.readouterr().err


def test_version():
    result = _cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"workbench {__version__}"


def test_flags_override_the_config_file_which_overrides_defaults(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"epochs": 7, "batch_size": 4, "augment": {"rotation_range": 3.0}}))
    args = build_parser().parse_args(["train", "--config", str(path), "--batch-size", "12",
                                      "--aug-horizontal-flip", "--lr", "0.01"])
    config = config_from_args(args)
    assert (config.epochs, config.batch_size, config.lr) == (7, 12, 0.01)
    assert config.augment.rotation_range == 3.0 and config.augment.horizontal_flip is True


def test_a_killed_run_leaves_loadable_checkpoints_and_resumes(tiny_data, tmp_path):
    import os
    import signal
    import time

    from workbench.engine.checkpoint import load_checkpoint

    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "train", str(tiny_data), "--epochs", "50", "--image-size", "32",
         "--batch-size", "8", "--no-early-stopping", "--out", str(run)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = run / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (last.exists() and load_checkpoint(last)["epoch"] >= 2):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = load_checkpoint(last)["epoch"]
    load_checkpoint(run / "checkpoints" / "best.pt")
    (run / "checkpoints" / ".last.pt.abc123.tmp").write_bytes(b"half a checkpoint")  # as a kill can leave
    assert main(["train", "--resume", str(run), "--epochs", str(killed_at + 1)]) == 0
    rows = (run / "metrics.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(1, killed_at + 2))
    assert not list(run.rglob("*.tmp"))  # resume clears temp files a kill left behind


def test_no_display_gets_a_message_instead_of_a_crash(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "workbench"], env=env, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 2
    assert "no display to open the window on" in result.stderr and "workbench train" in result.stderr


def _train_parser():
    return build_parser()._subparsers._group_actions[0].choices["train"]


def test_train_help_lists_a_flag_for_every_setting_with_its_unit_range_and_default():
    dests = {action.dest: action for action in _train_parser()._actions}
    for path in all_settings():
        assert path.replace("augment.", "aug_") in dests, path
    text = _train_parser().format_help()
    assert "--image-size N" in text and "--aug-width-shift-range X" in text and "--weights PATH" in text
    help_of = {a.dest: a.help for a in _train_parser()._actions}
    assert "(between 16 and 1024 px; default: 64)" in help_of["image_size"]
    assert "one of sgd, adam, adamw; default: adamw" in help_of["optimizer"]
    assert "resnet18" in " ".join(text.split())  # the model registry, read only for help


def _other_value(s, tmp_path):
    """A valid value for the setting that is not its default, and its text on the command line."""
    if s.kind is bool:
        return not s.default, None
    if s.options():
        value = next(c for c in s.options() if c != s.default)
    elif s.kind is str:  # the weights file: one that exists
        value = str(tmp_path / "weights.pt")
        (tmp_path / "weights.pt").write_bytes(b"")
    elif s.kind is int:
        value = s.min + 1 if s.min + 1 != s.default else s.min + 2
    else:
        value = float(s.min + 0.3 * (s.max - s.min) if s.max is not None else s.min + 1)
    return value, str(value)


@pytest.mark.parametrize("path", [p for p in all_settings() if p != "data_dir"])
def test_every_flag_value_arrives_in_the_config(path, tmp_path):
    s = all_settings()[path]
    value, text = _other_value(s, tmp_path)
    assert value != s.default
    flag = _flag(path, s)
    argv = [flag if value else flag.replace("--", "--no-", 1)] if text is None else [flag, text]
    # small_cnn has no pretrained weights; resnet18 no stochastic depth
    base = [] if path == "model" else ["--model", "efficientnet_b0" if path == "drop_path" else "resnet18"]
    config = config_from_args(build_parser().parse_args(["train", *base, *argv]))
    got = getattr(config.augment, path[8:]) if path.startswith("augment.") else getattr(config, path)
    assert got == value and type(got) is type(value)


def test_argparse_refuses_a_choice_that_is_not_offered(capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["train", "--optimizer", "rmsprop"])
    assert info.value.code == 2
    assert "argument --optimizer: invalid choice: 'rmsprop'" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--config", "--events-jsonl", "--stop-file", "--runs-dir", "--out",
                                  "--resume"])
def test_an_empty_path_is_refused(flag, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["train", flag, ""])
    assert info.value.code == 2
    assert f"argument {flag}: {flag} needs a path, got an empty string" in capsys.readouterr().err


def test_the_image_folder_is_stored_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = config_from_args(build_parser().parse_args(["train", "data/../images"]))
    assert config.data_dir == str(tmp_path / "images")


def test_a_config_file_with_a_wrong_type_names_the_setting(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"early_stopping": "false", "augment": {"rotation_range": "15"}}))
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "early_stopping must be true or false, got 'false'" in err
    assert "augment.rotation_range must be a number, got '15'" in err
