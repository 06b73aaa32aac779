"""The report's sections, in order: each is ``(id, title, function)``, the function taking the
:class:`~workbench.report.source.ReportSource` and returning the section's HTML body.

A section with nothing to show for this source says so (``missing(...)``) rather than vanishing:
the reader sees that, say, no test split was kept, and a check can count every section.
"""

from __future__ import annotations

import math
import platform
import sys
from collections.abc import Callable
from pathlib import Path

from workbench.png_charts import Marker, Series, bar_chart, line_chart, png_bytes
from workbench.report.image_sections import audit, misclassified_examples
from workbench.report.page import Raw, esc, missing, number, percent, png_img, table
from workbench.report.predictions import out_of_fold
from workbench.report.source import ReportSource

_CHART = (520, 340)


# Overview ---------------------------------------------------------------------------------------
def overview(src: ReportSource) -> str:
    rows: list[tuple[str, object]] = [("Folder", src.path)]
    if src.kind == "cv":
        from workbench.studies.cross_validation import describe

        s = src.study
        rows += [("Study", f"{s.get('folds', '?')}-fold cross-validation, "
                           f"{s.get('folds_done', 0)} of {s.get('folds', '?')} folds finished")]
        if s.get("folds_done") is not None:
            rows.append(("Recommendation", describe({"folds": s.get("folds"), **s})))
    elif src.kind == "search":
        from workbench.studies.search import describe

        s = src.study
        if s:
            rows += [("Study", f"search over settings: {s.get('sampler', '?')} sampler, "
                               f"{s.get('pruner', '?')} pruner, {len(s.get('trials') or [])} of "
                               f"{s.get('trials_asked', '?')} trials"), ("Result", describe(s))]
        if src.run:
            rows.append(("Best trial's run", src.run))
    s = src.summary
    if s:
        monitor = s.get("monitor", "val_loss")
        rows += [("Status", s.get("status", "?")), ("Why training stopped", s.get("stop_reason", "?")),
                 ("Model", s.get("model", "?")),
                 ("Best epoch", f"{s.get('best_epoch', '?')} of {s.get('stopped_epoch', '?')} run "
                                f"({monitor} {number(s.get('best_value'))})")]
        best = s.get("best_metrics") or {}
        if "val_acc" in best:
            rows.append(("Validation accuracy at the best epoch", percent(best["val_acc"])))
        if "total_seconds" in s:
            rows.append(("Training time", f"{float(s['total_seconds']):.0f} s"))
    elif src.kind == "run":
        rows.append(("Status", "no summary.json: the run did not finish writing its results"))
    return table(("", ""), rows, text_columns=(0, 1))  # build_report adds the notes of every section


# Settings ---------------------------------------------------------------------------------------
def settings(src: ReportSource) -> str:
    if not src.config:
        return missing("No settings were recorded (config.json is missing).")
    rows = []
    for key, value in src.config.items():
        if isinstance(value, dict):
            rows += [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            rows.append((key, value))
    note = ""
    if src.kind == "search":
        note = "<p>The fixed part of the search, with the best trial's values filled in.</p>"
    half = (len(rows) + 1) // 2  # two columns: 60 settings in one would be a long scroll
    halves = "".join(table(("Setting", "Value"), part, text_columns=(0, 1))
                     for part in (rows[:half], rows[half:]))
    return f'{note}<div class="charts">{halves}</div>'


# Dataset ----------------------------------------------------------------------------------------
def dataset(src: ReportSource) -> str:
    scan = src.scan
    if not scan:
        return missing("No scan report was recorded (scan_report.json is missing).")
    counts = scan.get("images_per_class") or {}
    most = max(counts.values(), default=0) or 1
    rows = [(name, n, Raw(f'<span style="display:inline-block;background:#1f77b4;height:10px;'
                          f'width:{int(200 * n / most)}px"></span>'))
            for name, n in counts.items()]
    body = (f"<p>{esc(scan.get('root', ''))}: {sum(counts.values())} images in {len(counts)} classes "
            f"({esc(scan.get('layout', ''))}); imbalance ratio {number(scan.get('imbalance_ratio'), 3)}.</p>")
    body += table(("Class", "Images", ""), rows, text_columns=(0, 2))
    s = src.summary
    if s:
        body += (f"<p>Split for this run: {s.get('n_train', '?')} training, {s.get('n_val', '?')} "
                 f"validation, {s.get('n_test', 0)} test images.</p>")
    skipped = scan.get("skipped") or []
    if skipped:
        body += f'<p class="warn">{len(skipped)} file(s) skipped:</p>'
        body += table(("File", "Why"), [(f.get("path", "?"), f.get("reason", "?")) for f in skipped[:50]
                                         if isinstance(f, dict)], text_columns=(0, 1))
        if len(skipped) > 50:
            body += f"<p>… and {len(skipped) - 50} more.</p>"
    else:
        body += "<p>No file was skipped.</p>"
    if scan.get("empty_classes"):
        body += f'<p class="warn">Empty class folders: {esc(", ".join(map(str, scan["empty_classes"])))}</p>'
    return body


# Curves -----------------------------------------------------------------------------------------
def curves(src: ReportSource) -> str:
    if src.kind == "cv":
        return _cv_curves(src)
    history = src.history
    if not history:
        return missing("No epoch was recorded (metrics.csv is missing or empty).")
    epochs = [row["epoch"] for row in history]
    s = src.summary
    markers = []
    if s.get("best_epoch"):
        markers.append(Marker(float(s["best_epoch"]), f"best epoch {s['best_epoch']}", (44, 160, 44)))
    if s.get("stopped_epoch") and s.get("status") == "finished" and "early" in str(s.get("stop_reason", "")):
        markers.append(Marker(float(s["stopped_epoch"]), f"early stop at epoch {s['stopped_epoch']}"))
    charts = []
    for key, title in (("loss", "Loss per epoch"), ("acc", "Accuracy per epoch")):
        series = [Series(f"{split} {key}", epochs, [row.get(f"{split}_{key}", math.nan) for row in history])
                  for split in ("train", "val") if any(f"{split}_{key}" in row for row in history)]
        charts.append(png_img(png_bytes(line_chart(series, title=title, x_label="epoch", integer_x=True,
                                                   markers=markers, size=_CHART)), title))
    rates = [row["lr"] for row in history if "lr" in row]
    note = ""
    if rates and max(rates) > min(rates):
        lr = [Series("learning rate", epochs, [row.get("lr", math.nan) for row in history])]
        charts.append(png_img(png_bytes(line_chart(lr, title="Learning rate per epoch", x_label="epoch",
                                                   integer_x=True, size=_CHART)), "learning rate"))
    elif rates:
        note = f"<p>Learning rate: {number(rates[0])} throughout (no schedule).</p>"
    return f'<div class="charts">{"".join(charts)}</div>{note}'



def _cv_curves(src: ReportSource) -> str:
    curve = src.study.get("epochs") or []
    if not curve:
        return missing("No fold has finished yet.")
    epochs = [e["epoch"] for e in curve]
    charts = []
    rec = src.study.get("recommended_epochs")
    markers = [Marker(float(rec), f"recommended: {rec} epochs", (44, 160, 44))] if rec else []
    for key, title in (("val_loss", "Validation loss: mean ± std over folds"),
                       ("val_acc", "Validation accuracy: mean ± std over folds")):
        mean = [e[f"{key}_mean"] for e in curve]
        std = [e[f"{key}_std"] for e in curve]
        band = ([m - d for m, d in zip(mean, std, strict=True)],
                [m + d for m, d in zip(mean, std, strict=True)])
        chart = line_chart([Series(f"{key} (mean)", epochs, mean, band=band)], title=title, x_label="epoch",
                           integer_x=True, markers=markers, size=_CHART)
        charts.append(png_img(png_bytes(chart), title))
    return f'<div class="charts">{"".join(charts)}</div>'



# Cross-validation evidence ----------------------------------------------------------------------
def cross_validation(src: ReportSource) -> str:
    if src.kind != "cv":
        return missing("This report is not of a cross-validation study (workbench cv): a single run's "
                       "validation score carries no estimate of its spread.")
    s = src.study
    body = ""
    if s.get("recommended_epochs"):
        body += (f"<p><b>Recommended: {esc(s['recommended_epochs'])} epochs</b>, mean validation accuracy "
                 f"{percent(s.get('val_acc_mean'))} ± {percent(s.get('val_acc_std'))} "
                 f"({esc(s.get('rule', ''))}; lowest mean loss at epoch {esc(s.get('lowest_loss_epoch'))}, "
                 f"standard error {number(s.get('standard_error'))}).</p>")
    rows = [(f["fold"], f.get("status"), f.get("best_epoch"), number(f.get("best_value")),
             f.get("epochs_run"),
             number(f.get("seconds"), 3)) for f in s.get("fold_runs") or []]
    body += table(("Fold", "Status", "Best epoch", "Best val_loss", "Epochs run", "Seconds"), rows,
                  text_columns=(1,))
    curve = s.get("epochs") or []
    if curve:
        body += table(("Epoch", "Folds", "val_loss mean", "± std", "val_acc mean", "± std"),
                      [(e["epoch"], e["folds"], number(e["val_loss_mean"]), number(e["val_loss_std"]),
                        percent(e["val_acc_mean"]), percent(e["val_acc_std"])) for e in curve],
                      text_columns=())
    return body


# Search -----------------------------------------------------------------------------------------
def search(src: ReportSource) -> str:
    if src.kind != "search":
        return missing("This report is not of a search study (workbench search).")
    s = src.study
    trials = s.get("trials") or []
    if not trials:
        return missing("No trial has been recorded yet.")
    body = (f"<p>{esc(s.get('complete', 0))} complete, {esc(s.get('pruned', 0))} pruned, "
            f"{esc(s.get('failed', 0))} failed; objective {esc(s.get('monitor'))} "
            f"({esc(s.get('direction'))}).</p>")
    done = [t for t in trials if t.get("value") is not None]
    if done:
        sign = -1 if s.get("direction") == "maximize" else 1
        best, best_so_far = math.inf, []
        for t in done:
            best = min(best, sign * t["value"])
            best_so_far.append(sign * best)
        chart = line_chart([Series("trial value", [t["number"] for t in done], [t["value"] for t in done],
                                   points=True),
                            Series("best so far", [t["number"] for t in done], best_so_far)],
                           title="Optimisation history", x_label="trial", integer_x=True)
        body += png_img(png_bytes(chart), "optimisation history")
    best_number = (s.get("best") or {}).get("number")
    rows = [(Raw(f"<b>{t['number']}</b>") if t["number"] == best_number else t["number"], t.get("state"),
             number(t.get("value")),
             ", ".join(f"{k}={_short(v)}" for k, v in (t.get("params") or {}).items()),
             t.get("error") or "") for t in trials]
    body += table(("Trial", "State", "Value", "Settings", "Error"), rows, text_columns=(1, 3, 4))
    return body


def _short(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# Confusion matrix and per-class metrics ---------------------------------------------------------
def confusion(src: ReportSource) -> str:
    oof = out_of_fold(src)
    if oof is not None:
        return ("<p>Out-of-fold predictions: every image, scored by the fold that did not train on it.</p>"
                + _matrix(oof["confusion_matrix"], src.class_names))
    matrix = src.summary.get("confusion_matrix")
    if not matrix:
        return missing("No confusion matrix was recorded (the run has no validation split or did not "
                       "finish).")
    return "<p>Validation images, with the weights the run kept.</p>" + _matrix(matrix, src.class_names)


def _matrix(matrix: list[list[int]], names: list[str]) -> str:
    names = names or [str(i) for i in range(len(matrix))]
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    rows = []
    for name, row in zip(names, matrix, strict=False):
        total = sum(row) or 1
        cells = "".join(f'<td style="background:rgba(31,119,180,{0.8 * v / total:.2f})">{v}</td>'
                        for v in row)
        rows.append(f'<tr><th class="text">{esc(name)}</th>{cells}</tr>')
    return (f'<table><thead><tr><th class="text">true \\ predicted</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def per_class(src: ReportSource) -> str:
    oof = out_of_fold(src)
    rows = (oof or {}).get("per_class") or src.summary.get("per_class") or []
    if not rows:
        return missing("No per-class metrics were recorded.")
    return _per_class_table(rows)


def _per_class_table(rows: list[dict]) -> str:
    lowest = min(rows, key=lambda r: r.get("recall", 1.0))
    body = (f"<p>Lowest recall: <b>{esc(lowest.get('class'))}</b> {percent(lowest.get('recall'))} "
            "(the share of that class's images the model finds).</p>")
    return body + table(("Class", "Precision", "Recall", "F1", "Images"),
                        [(r.get("class"), percent(r.get("precision")), percent(r.get("recall")),
                          percent(r.get("f1")), r.get("support")) for r in rows])


# Test set ---------------------------------------------------------------------------------------
def test_set(src: ReportSource) -> str:
    test = src.summary.get("test")
    if not test:
        return missing("No test set was kept apart for this run (--test-fraction 0): the validation "
                       "score chose the weights and is optimistic.")
    body = (f"<p>{esc(test.get('n'))} images kept apart and scored once at the end: accuracy "
            f"<b>{percent(test.get('accuracy'))}</b>, loss {number(test.get('loss'))}.</p>")
    if test.get("confusion"):
        body += _matrix(test["confusion"], src.class_names)
    if test.get("per_class"):
        body += _per_class_table(test["per_class"])
    return body


# Calibration ------------------------------------------------------------------------------------
def calibration(src: ReportSource) -> str:
    """Temperature scaling fitted at the end of the run (summary["calibration"]): NLL and expected
    calibration error before and after, and the reliability diagrams."""
    cal = src.summary.get("calibration")
    if not isinstance(cal, dict) or "temperature" not in cal:
        return missing("No calibration was recorded for this run (it has no validation split, or was "
                       "trained before calibration existed).")
    body = (f"<p>Temperature <b>{number(cal.get('temperature'), 3)}</b>, fitted on "
            f"{esc(cal.get('images'))} validation images ({esc(cal.get('checkpoint', 'best'))} checkpoint): "
            "every exported model divides its logits by it, so its probabilities mean what they say.</p>")
    body += table(("", "Before", "After"),
                  [("Negative log-likelihood", number(cal.get("nll_before")), number(cal.get("nll_after"))),
                   ("Expected calibration error", percent(cal.get("ece_before")),
                    percent(cal.get("ece_after")))])
    charts = []
    for key, title in (("reliability_before", "Reliability before"),
                       ("reliability_after", "Reliability after")):
        bins = cal.get(key)
        if not (isinstance(bins, list) and bins and all(isinstance(b, dict) for b in bins)):
            continue
        width = 1.0 / len(bins)
        centers = [(float(b.get("low", i * width)) + float(b.get("high", (i + 1) * width))) / 2
                   for i, b in enumerate(bins)]
        heights = [b.get("accuracy") if b.get("count") else None for b in bins]
        chart = bar_chart(centers, heights, title=title, x_label="confidence", y_label="accuracy",
                          bar_width=width, diagonal=True, label="grey line: perfectly calibrated")
        charts.append(png_img(png_bytes(chart), title))
    return body + f'<div class="charts">{"".join(charts)}</div>'


# Environment ------------------------------------------------------------------------------------
def environment(src: ReportSource) -> str:
    import torch
    import torchvision

    import workbench

    s = src.summary
    rows = [("Trained with Workbench", s.get("workbench_version", "?")),
            ("Trained on", s.get("device_name") or s.get("device") or "?"),
            ("Report made with Workbench", workbench.__version__),
            ("Python", sys.version.split()[0]), ("torch", torch.__version__),
            ("torchvision", torchvision.__version__), ("Platform", platform.platform())]
    root = src.scan.get("root") or src.config.get("data_dir")
    if root:
        rows.append(("Data fingerprint", data_fingerprint(Path(root))))
    return table(("", ""), rows, text_columns=(0, 1))


def data_fingerprint(root: Path) -> str:
    """A digest of the folder's files (relative path, size, modification time) as they are now:
    two reports with the same fingerprint were made of the same files."""
    import hashlib

    if not root.is_dir():
        return "the dataset folder no longer exists"
    digest, count = hashlib.sha256(), 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            st = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        count += 1
    return f"sha256:{digest.hexdigest()[:16]} ({count} files, as of this report)"


SECTIONS: list[tuple[str, str, Callable[[ReportSource], str]]] = [
    ("overview", "Overview", overview),
    ("settings", "Settings", settings),
    ("dataset", "Dataset", dataset),
    ("curves", "Curves", curves),
    ("cross-validation", "Cross-validation", cross_validation),
    ("search", "Search", search),
    ("confusion", "Confusion matrix", confusion),
    ("per-class", "Per-class metrics", per_class),
    ("test", "Test set", test_set),
    ("calibration", "Calibration", calibration),
    ("misclassified", "Misclassified examples", misclassified_examples),
    ("audit", "Dataset audit", audit),
    ("environment", "Environment", environment),
]
