"""The one-file report: every section for a run, a cross-validation and a search study; nothing
outside the file; hostile names escaped; damaged folders described rather than fatal."""

import json
import re
import shutil

import pytest
from PIL import Image

from workbench.cli import main
from workbench.config import TrainConfig
from workbench.report import ReportError, build_report, write_report
from workbench.report.sections import SECTIONS

SECTION_IDS = [sid for sid, _, _ in SECTIONS]


def section_html(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S)
    assert match, f"section {section_id} missing"
    return match.group(1)


def assert_self_contained(html: str) -> None:
    """No reference leaves the file: every src is a data: URI, every href an anchor."""
    for attribute, value in re.findall(r'\b(src|href)="([^"]*)"', html):
        assert value.startswith("data:image/png;base64," if attribute == "src" else "#"), (attribute, value)
    assert "http://" not in html and "https://" not in html


@pytest.fixture(scope="module")
def studies(tiny_data, tmp_path_factory):
    """A tiny cross-validation (2 folds) and search (2 trials), 1-2 epochs each, on tiny_data."""
    from workbench.studies.cross_validation import CrossValidation
    from workbench.studies.search import Search

    root = tmp_path_factory.mktemp("report_studies")
    config = TrainConfig(data_dir=str(tiny_data), model="small_cnn", image_size=32, epochs=2, batch_size=8,
                         workers=1, seed=0)
    CrossValidation(config, root / "cv", folds=2).run()
    space = {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}
    Search(config, root / "search", 2, sampler="random", pruner="none", space=space).run()
    return root


def test_a_run_report_has_every_section_and_refers_to_nothing_outside(trained_run, tmp_path):
    out = write_report(trained_run, tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    for sid in SECTION_IDS:
        section_html(html, sid)
    assert_self_contained(html)
    summary = json.loads((trained_run / "summary.json").read_text())
    assert summary["stop_reason"] in section_html(html, "overview")
    assert html.count("data:image/png;base64,") >= 2  # loss and accuracy curves at least
    matrix = section_html(html, "confusion")
    assert all(name in matrix for name in summary["class_names"])
    assert "No test set" in section_html(html, "test")  # the shared run keeps none
    assert "Data fingerprint" in section_html(html, "environment")


def test_a_cross_validation_report_shows_the_evidence_and_out_of_fold_errors(studies):
    html = build_report(studies / "cv")
    cv = section_html(html, "cross-validation")
    summary = json.loads((studies / "cv" / "cv_summary.json").read_text())
    assert f"Recommended: {summary['recommended_epochs']} epochs" in cv
    assert cv.count("<tr>") >= 2 + len(summary["epochs"])  # one row per fold and per epoch
    assert "Out-of-fold" in section_html(html, "confusion")
    if "predicted as" in section_html(html, "misclassified"):  # heat maps from the fold that scored it
        assert 'alt="heat map for' in section_html(html, "misclassified")
    assert section_html(html, "curves").count("data:image/png") == 2  # loss and accuracy, mean ± std
    assert_self_contained(html)


def test_a_search_report_lists_every_trial_and_the_best_ones_run(studies):
    html = build_report(studies / "search")
    summary = json.loads((studies / "search" / "search_summary.json").read_text())
    search = section_html(html, "search")
    assert search.count("<tr>") == 1 + len(summary["trials"])  # the header row and one per trial
    assert f"<b>{summary['best']['number']}</b>" in search
    assert summary["best"]["run_dir"] in section_html(html, "overview")
    assert "data:image/png" in section_html(html, "curves")  # the best trial's curves


def test_hostile_class_names_are_escaped(trained_run, tmp_path):
    run = shutil.copytree(trained_run, tmp_path / "run")
    summary = json.loads((run / "summary.json").read_text())
    summary["class_names"][0] = "<script>alert(1)</script>\x1b[2J"
    summary["misclassified"] = [{"path": "<img src=x onerror=alert(1)>.png", "true": "<b>",
                                 "predicted": "x", "confidence": 0.5}]
    (run / "summary.json").write_text(json.dumps(summary))
    html = build_report(run)
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "\\x1b" in html
    assert "file not found" in section_html(html, "misclassified")


def test_a_damaged_run_is_described_not_fatal(trained_run, tmp_path):
    run = shutil.copytree(trained_run, tmp_path / "run")
    (run / "summary.json").write_text("{not json")
    (run / "metrics.csv").unlink()
    html = build_report(run)
    assert "summary.json is damaged" in section_html(html, "overview")
    assert "No epoch was recorded" in section_html(html, "curves")


def test_misclassified_images_are_embedded_with_their_heat_maps(trained_run, tmp_path):
    run = shutil.copytree(trained_run, tmp_path / "run")
    image = tmp_path / "seven.png"
    Image.new("RGB", (40, 40), (200, 10, 10)).save(image)
    summary = json.loads((run / "summary.json").read_text())
    true, predicted = summary["class_names"][:2]
    summary["misclassified"] = [{"path": str(image), "true": true, "predicted": predicted, "confidence": 0.9}]
    (run / "summary.json").write_text(json.dumps(summary))
    part = section_html(build_report(run), "misclassified")
    # The image, then the heat maps of the predicted and the true class, from the run's weights.
    assert part.count("data:image/png;base64,") == 3 and "90.0%" in part
    assert f'alt="heat map for {predicted}"' in part and f'alt="heat map for {true}"' in part
    (run / "checkpoints" / "best.pt").unlink()
    (run / "checkpoints" / "last.pt").unlink()
    part = section_html(build_report(run), "misclassified")
    assert part.count("data:image/png;base64,") == 1 and "No heat maps" in part


def test_the_command_writes_the_file_and_refuses_what_is_not_a_run(trained_run, tmp_path, capsys):
    run = shutil.copytree(trained_run, tmp_path / "run")
    assert main(["report", str(run)]) == 0
    assert (run / "report.html").stat().st_size > 10_000
    assert "report.html" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "absent")]) == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "plain").mkdir()
    with pytest.raises(ReportError, match="holds no run"):
        build_report(tmp_path / "plain")


def test_the_lr_plot_still_draws_through_the_shared_chart_module(tmp_path):
    from types import SimpleNamespace

    from workbench.studies.png_plot import save_lr_plot

    result = SimpleNamespace(lrs=[1e-5, 1e-4, 1e-3, 1e-2], losses=[2.0, 1.5, 1.0, 3.0], suggested_lr=1e-3,
                             rule="steepest", message="")
    save_lr_plot(result, tmp_path / "lr.png")
    with Image.open(tmp_path / "lr.png") as im:
        assert im.size[0] == 720 and im.getcolors(1_000_000) and len(im.getcolors(1_000_000)) > 3


def test_ticks_are_round_and_cover_the_range():
    from workbench.png_charts import ticks

    assert ticks(0.0, 1.0) == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert ticks(3.0, 3.0) == [3.0]


def test_the_calibration_section_shows_the_fit_and_both_reliability_diagrams(trained_run, tmp_path):
    run = shutil.copytree(trained_run, tmp_path / "run")
    summary = json.loads((run / "summary.json").read_text())
    bins = [{"low": i / 10, "high": (i + 1) / 10, "count": i, "confidence": (i + 0.5) / 10,
             "accuracy": i / 10 if i else None} for i in range(10)]
    summary["calibration"] = {"checkpoint": "best", "epoch": 2, "temperature": 1.7, "images": 45, "bins": 10,
                              "nll_before": 0.9, "nll_after": 0.7, "ece_before": 0.12, "ece_after": 0.04,
                              "reliability_before": bins, "reliability_after": bins}
    (run / "summary.json").write_text(json.dumps(summary))
    part = section_html(build_report(run), "calibration")
    assert "Temperature <b>1.7</b>" in part and "12.0%" in part and "4.0%" in part
    assert part.count("data:image/png;base64,") == 2


def test_the_audit_section_lists_the_findings_of_the_datasets_audit(trained_run, tmp_path):
    pytest.importorskip("workbench.audit")
    run = shutil.copytree(trained_run, tmp_path / "run")
    image = tmp_path / "flipped.png"
    Image.new("RGB", (8, 8), (10, 200, 10)).save(image)

    def file(name, split):
        return {"path": str(tmp_path / name), "class": "circle", "split": split}

    audit = {"format": "workbench-audit-1", "created": "2026-12-02T00:00:00", "dataset": "/data/shapes",
             "class_names": ["circle", "square"], "images": 64, "near_duplicate_distance": 4,
             "split": {"source": "settings"}, "exact_duplicates": [{"files": [file("a.png", "train"),
                                                                               file("b.png", "val")]}],
             "near_duplicates": [], "leakage": [{"kind": "exact", "files": [file("a.png", "train"),
                                                                              file("b.png", "val")],
                                                 "splits": ["train", "val"]}],
             "label_issues": [{"rank": 1, "path": str(image), "class": "circle", "split": "val",
                               "suggested_class": "square", "given_probability": 0.02,
                               "suggested_probability": 0.97}],
             "label_check": {"source": "cross_validation", "warning": None}, "unhashed": [], "moves": []}
    (run / "audit.json").write_text(json.dumps(audit))
    part = section_html(build_report(run), "audit")
    assert "Leakage" in part and "a.png [circle, train] = b.png [circle, val]" in part
    assert "looks like <b>square</b> (97.0%)" in part and part.count("data:image/png;base64,") == 1


def test_a_damaged_out_of_fold_file_is_one_note_not_three(studies, tmp_path):
    cv = shutil.copytree(studies / "cv", tmp_path / "cv")
    (cv / "oof.npz").write_bytes(b"not an npz")
    html = build_report(cv)
    assert section_html(html, "overview").count("oof.npz cannot be read") == 1
    assert "No confusion matrix" in section_html(html, "confusion")  # no fold summary to fall back on
