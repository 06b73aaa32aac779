"""``workbench audit``: writes audit.json, prints the findings, refuses what it cannot use."""

from __future__ import annotations

import json

from workbench.audit import default_audit_path, read_audit
from workbench.cli import main


def test_audit_command_finds_the_planted_copies(planted, tmp_path, capsys):
    root, p = planted
    out = tmp_path / "report"
    assert main(["audit", str(root), "--out", str(out) + "/", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    audit = read_audit(out / "audit.json")
    assert audit["split"] == {"source": "settings", "val_fraction": 0.2, "test_fraction": 0.0, "seed": 3}
    assert len(audit["exact_duplicates"]) == 2 and len(audit["near_duplicates"]) == 1
    assert str(p["resized"]) in printed and "(in different classes)" in printed
    assert "Label errors: not checked" in printed


def test_default_place_is_per_dataset_beside_the_runs(planted, capsys):
    root, _ = planted
    assert main(["audit", str(root), "--json"]) == 0
    audit = json.loads(capsys.readouterr().out)
    path = default_audit_path(root)
    assert read_audit(path) == audit and path.parent.parent.name == "audits"


def test_audit_with_a_run_checks_its_validation_labels(trained_run, tmp_path, capsys):
    assert main(["audit", "--run", str(trained_run), "--out", str(tmp_path / "a.json")]) == 0
    assert "Warning: Label check from one run's validation predictions" in capsys.readouterr().out
    assert read_audit(tmp_path / "a.json")["label_check"]["source"] == "run"


def test_bad_sources_are_refused(planted, tmp_path, trained_run, capsys):
    root, _ = planted
    assert main(["audit", "--cv", str(tmp_path)]) == 2
    assert "not a cross-validation study" in capsys.readouterr().err
    assert main(["audit", str(root), "--run", str(trained_run)]) == 2
    assert "cannot check another folder's labels" in capsys.readouterr().err
