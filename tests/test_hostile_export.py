"""`workbench export --out …` never destroys what a user has, and a killed export leaves nothing torn."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from workbench.cli import main
from workbench.export import ExportError, export_model
from workbench.predict import Predictor


@pytest.fixture
def run(trained_run, tmp_path):
    return shutil.copytree(trained_run, tmp_path / "run")


def _export(capsys, *args):
    code = main(["export", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("out", "target"), [("config", "config.json"), ("summary", "summary.json"),
                                             ("metrics.csv", "metrics.csv"), ("train.log", "train.log"),
                                             ("checkpoints/last.pt", "checkpoints/last.pt"),
                                             ("checkpoints/new.pt", "checkpoints/new.pt")])
def test_a_runs_own_files_are_never_written_even_with_force(run, capsys, out, target):
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    code, _, err = _export(capsys, run, "--format", "pt", "--out", run / out, "--force")
    assert code == 1
    assert err.startswith(f"error: Refused to write {run / target}: it is ")
    assert "Export to the run's exports/ folder or somewhere outside the run." in err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_an_existing_file_needs_force(run, tmp_path, capsys):
    target = tmp_path / "model.pt"
    target.write_bytes(b"my own file")
    code, _, err = _export(capsys, run, "--format", "pt", "--out", target)
    assert code == 1 and err == (f"error: {target} already exists; choose another name, or overwrite "
                                 "with --force\n")
    assert target.read_bytes() == b"my own file"
    code, out, err = _export(capsys, run, "--format", "pt", "--out", target, "--force")
    assert code == 0, err
    assert out.startswith(f"Exported pt to {target}") and Predictor.load(target).image_size == 32


def test_an_existing_metadata_file_alone_also_needs_force(run, tmp_path):
    (tmp_path / "model.onnx.json").write_text("{}")
    with pytest.raises(ExportError, match=r"model.onnx.json already exists"):
        export_model(run, "onnx", out=tmp_path / "model.onnx")


def test_a_trailing_slash_means_a_new_folder(run, tmp_path, capsys):
    code, _, err = _export(capsys, run, "--format", "safetensors", "--out", f"{tmp_path / 'newdir'}/")
    assert code == 0, err
    assert (tmp_path / "newdir").is_dir()
    assert (tmp_path / "newdir" / "run-best.safetensors").is_file()
    assert (tmp_path / "newdir" / "run-best.safetensors.json").is_file()


def test_a_failed_verification_leaves_the_old_file_and_no_temporary_file(run, tmp_path, monkeypatch):
    target = tmp_path / "model.pt"
    target.write_bytes(b"previous export")
    (tmp_path / "model.pt.json").write_text("previous metadata")

    def disagree(*_args):
        raise ExportError("disagrees")

    monkeypatch.setattr("workbench.export._verify", disagree)
    with pytest.raises(ExportError, match="disagrees"):
        export_model(run, "pt", out=target, force=True)
    assert target.read_bytes() == b"previous export"
    assert (tmp_path / "model.pt.json").read_text() == "previous metadata"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "model.pt.json", "run"]


def test_a_kill_during_export_leaves_no_model_under_the_name(run, tmp_path):
    """SIGKILL while verifying (the files are written, not yet checked): nothing at the target."""
    target = tmp_path / "out" / "model.onnx"
    script = textwrap.dedent(f"""
        import os, signal
        import workbench.export as export
        export._verify = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
        export.export_model({str(run)!r}, "onnx", out={str(target)!r})
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == -9, done.stderr
    assert not target.exists() and not (target.parent / "model.onnx.json").exists()
    # What the kill left is hidden, and the next export to that name (after an hour) sweeps it.
    leftovers = list(target.parent.iterdir())
    assert all(p.name.startswith(".model.onnx.export-") for p in leftovers)
    for p in leftovers:
        os.utime(p, (0, 0))
    export_model(run, "pt", out=tmp_path / "out" / "model.onnx")
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.onnx", "model.onnx.json"]


def test_export_messages_escape_names(run, tmp_path, capsys):
    folder = tmp_path / "out\x1b[31m\n"
    code, out, err = _export(capsys, run, "--format", "pt", "--out", f"{folder}/")
    assert code == 0, err
    assert "\x1b" not in out and out.count("\n") == 1 and "out\\x1b[31m\\n" in out
