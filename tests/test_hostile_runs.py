"""One damaged run never hides the others: every run is listed, a damaged one says what is damaged."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.runs import list_runs, read_run_info

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_runs as hr  # noqa: E402

CASES = [
    (hr.truncated_metrics_row, "metrics.csv: 1 damaged row(s) left out (line 3)"),
    (hr.summary_holding_a_list, "summary.json is damaged (holds list, not an object)"),
    (hr.summary_with_huge_number, "summary.json best_value is damaged (inf); summary.json stopped_epoch "
                                  "is damaged (inf)"),
    (hr.deeply_nested_config, "config.json is damaged (nested too deeply)"),
    (hr.metrics_with_text, "metrics.csv: 1 damaged row(s) left out (line 2)"),
]


@pytest.fixture(scope="module")
def damaged_root(trained_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged_runs")
    hr.copy_run(trained_run, root, "good")
    for case, _ in CASES:
        case(hr.copy_run(trained_run, root, case.__name__))
    return root


@pytest.mark.parametrize(("case", "note"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_each_damaged_run_is_listed_with_what_is_damaged(damaged_root, case, note):
    info = read_run_info(damaged_root / case.__name__)
    assert info.note == note
    if case is hr.deeply_nested_config:
        assert info.status == "damaged" and info.model == ""
    else:  # without a readable summary.json the status is unknown: incomplete, as after a kill
        expected = "incomplete" if case is hr.summary_holding_a_list else "finished"
        assert info.status == expected and info.model == "small_cnn" and info.epochs_run >= 1


def test_the_list_holds_every_run_and_the_good_one_is_untouched(damaged_root):
    runs = {r.name: r for r in list_runs(damaged_root)}
    assert set(runs) == {"good", *(c.__name__ for c, _ in CASES)}
    assert runs["good"].note == "" and runs["good"].best_value is not None


def test_workbench_runs_shows_every_run_with_a_note_column(damaged_root, capsys):
    assert main(["runs", "--runs-dir", str(damaged_root)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "DATE", "MODEL", "DATASET", "EPOCHS", "BEST", "STATUS",
                                           "NOTE"]
    for case, note in CASES:
        [line] = [line for line in out.splitlines() if line.startswith(case.__name__)]
        assert line.endswith(note)
    assert f"{len(CASES) + 1} run(s) in" in out
    assert main(["runs", "--runs-dir", str(damaged_root), "--json"]) == 0
    listed = {r["name"]: r["note"] for r in json.loads(capsys.readouterr().out)}
    assert listed["summary_holding_a_list"] == "summary.json is damaged (holds list, not an object)"


def test_run_names_with_escape_codes_are_shown_escaped(trained_run, tmp_path, capsys):
    hr.forged_run_name(trained_run, tmp_path)
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "evil\\n\\x1b[31mfinished" in out
    assert len(out.splitlines()) == 4  # header, the run, a blank line, the count


def test_a_damaged_run_can_still_be_deleted_but_not_exported(damaged_root, tmp_path, capsys):
    import shutil

    from workbench.runs import delete_run

    run = shutil.copytree(damaged_root / "deeply_nested_config", tmp_path / "nested")
    assert main(["export", str(run), "--format", "pt"]) == 1
    assert capsys.readouterr().err == (f"error: {run} cannot be exported: config.json is damaged "
                                       "(nested too deeply)\n")
    delete_run(run)
    assert not run.exists()
