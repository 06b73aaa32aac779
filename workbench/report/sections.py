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

import numpy as np

from workbench.png_charts import Marker, Series, bar_chart, line_chart, png_bytes
from workbench.report.page import Raw, esc, missing, number, percent, png_img, table
from workbench.report.source import OOF, ReportSource

MAX_MISCLASSIFIED = 24
THUMBNAIL = 96
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
def _out_of_fold(src: ReportSource) -> dict | None:
    """Out-of-fold predictions of a CV study: every image scored by the fold that did not train on it.
    Read once per report: the confusion matrix, per-class and misclassified sections share them."""
    if "out_of_fold" not in src.cache:
        src.cache["out_of_fold"] = _read_out_of_fold(src)
    return src.cache["out_of_fold"]


def _read_out_of_fold(src: ReportSource) -> dict | None:
    path = src.path / OOF
    if src.kind != "cv" or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            labels, probabilities, paths = data["labels"], data["probabilities"], data["paths"]
    except (OSError, ValueError, KeyError) as exc:
        src.notes.append(f"{OOF} cannot be read ({exc})")
        return None
    from workbench.engine.evaluation import class_report

    predictions = probabilities.argmax(axis=1)
    names = src.class_names or [str(i) for i in range(probabilities.shape[1])]
    report = class_report(labels.tolist(), predictions.tolist(), names)
    wrong = [{"path": str(p), "true": names[t], "predicted": names[q],
              "confidence": float(probabilities[i, q])}
             for i, (p, t, q) in enumerate(zip(paths, labels, predictions, strict=True)) if t != q]
    wrong.sort(key=lambda w: -w["confidence"])  # the most confident mistakes say the most
    return {**report, "misclassified": wrong, "n": len(labels)}


def confusion(src: ReportSource) -> str:
    oof = _out_of_fold(src)
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
    oof = _out_of_fold(src)
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


# Misclassified examples -------------------------------------------------------------------------
def misclassified_examples(src: ReportSource) -> str:
    oof = _out_of_fold(src)
    wrong = (oof or {}).get("misclassified") if oof is not None else src.summary.get("misclassified")
    if wrong is None:
        return missing("No validation predictions were recorded.")
    if not wrong:
        return "<p>No validation image was misclassified.</p>"
    explainers = _Explainers(src)
    cards = []
    for item in wrong[:MAX_MISCLASSIFIED]:
        path = str(item.get("path", ""))
        maps = "".join(explainers.overlay(path, str(item.get(key))) for key in ("predicted", "true"))
        cards.append(f'<div class="card">{_thumbnail(path)}{maps}<br><b>{esc(item.get("true"))}</b> '
                     f'predicted as <b>{esc(item.get("predicted"))}</b> ({percent(item.get("confidence"))})'
                     f'<div class="mono">{esc(Path(path).name)}</div></div>')
    more = f"<p>… and {len(wrong) - MAX_MISCLASSIFIED} more.</p>" if len(wrong) > MAX_MISCLASSIFIED else ""
    note = ("<p>Beside each image, its Grad-CAM heat maps: where the model found evidence for the class "
            "it predicted, then for the true class.</p>" if explainers.used else
            f'<p class="missing">{esc(explainers.problem or "No heat maps.")}</p>')
    return (f"<p>{len(wrong)} misclassified image(s).</p>{note}<div class=\"cards\">{''.join(cards)}</div>"
            f"{more}")


class _Explainers:
    """Grad-CAM overlays from the weights that scored each image: the run's best checkpoint, or
    for a cross-validation study the fold whose validation split held the image."""

    def __init__(self, src: ReportSource):
        self.src, self.problem, self.used = src, "", False
        self._by_folder: dict[Path, object] = {}
        self._fold_of: dict[str, Path] = {}
        if src.kind == "cv":
            for folder in sorted(src.path.glob("fold-*")):
                try:
                    with np.load(folder / OOF, allow_pickle=False) as data:
                        self._fold_of.update({str(p): folder for p in data["paths"]})
                except (OSError, ValueError, KeyError):
                    continue

    def overlay(self, path: str, class_name: str) -> str:
        folder = self._fold_of.get(path) if self.src.kind == "cv" else self.src.run
        explainer = self._explainer(folder) if folder is not None else None
        if explainer is None or not Path(path).is_file():
            return ""
        try:
            image, _ = explainer.overlay_of_file(path, class_name, size=THUMBNAIL)
        except Exception as exc:  # noqa: BLE001 — one image's failure is a note, not a lost report
            self.problem = f"Heat map of {Path(path).name}: {exc}"
            return ""
        from PIL import Image

        self.used = True
        return png_img(png_bytes(Image.fromarray(image)), f"heat map for {class_name}")

    def _explainer(self, folder: Path):
        if folder not in self._by_folder:
            try:
                from workbench.explain import Explainer
                from workbench.predict import Predictor

                self._by_folder[folder] = Explainer.for_model(Predictor.load(folder))
            except Exception as exc:  # noqa: BLE001 — e.g. no checkpoint: the report goes on without
                self._by_folder[folder] = None
                self.problem = f"No heat maps: the weights of {folder.name} cannot be loaded ({exc})."
        return self._by_folder[folder]


def _thumbnail(path: str) -> str:
    from workbench.data.decode import load_image
    from workbench.data.scan import image_problem

    problem = image_problem(path) if Path(path).exists() else "file not found"
    if problem:
        return f'<span class="missing">{esc(problem)}</span>'
    from PIL import Image

    try:
        array = load_image(path, THUMBNAIL)
    except Exception as exc:  # noqa: BLE001 — an unreadable image is a note in the report, not a crash
        return f'<span class="missing">{esc(exc)}</span>'
    return png_img(png_bytes(Image.fromarray(array)), Path(path).name)


# Audit ------------------------------------------------------------------------------------------
AUDIT_FILE = "audit.json"
MAX_AUDIT_ROWS = 12


def _find_audit(src: ReportSource) -> tuple[Path | None, dict]:
    """The study folder's audit.json, else the dataset's default audit (``workbench audit``)."""
    candidates = [src.path / AUDIT_FILE]
    root = src.scan.get("root") or src.config.get("data_dir")
    try:
        from workbench.audit import default_audit_path, read_audit
    except ImportError:  # pragma: no cover — an install without the audit
        return None, {}
    if root:
        candidates.append(default_audit_path(root))
    for path in candidates:
        if path.is_file():
            try:
                return path, read_audit(path)
            except ValueError as exc:  # AuditError: damaged or not an audit
                src.notes.append(f"{path}: {exc}")
    return None, {}


def audit(src: ReportSource) -> str:
    path, found = _find_audit(src)
    if not found:
        return missing("No dataset audit was found for this dataset: run `workbench audit DATA` (or "
                       "Audit in the Dataset tab), then make the report again.")
    body = (f"<p>Audit of {esc(found.get('dataset'))} made {esc(found.get('created'))}: "
            f"{esc(found.get('images'))} images; near-duplicates are perceptual hashes within "
            f"{esc(found.get('near_duplicate_distance'))} of 64 bits. "
            f"<span class=\"mono\">{esc(path)}</span></p>")
    counts = [("Exact duplicates", len(found.get("exact_duplicates") or [])),
              ("Near-duplicates", len(found.get("near_duplicates") or [])),
              ("Leakage: duplicates across train / validation / test", len(found.get("leakage") or [])),
              ("Likely label errors", len(found.get("label_issues") or []))]
    body += table(("Finding", "Groups or images"), counts)
    if found.get("leakage"):
        body += '<p class="warn">Leakage: the same image in more than one split inflates the ' \
                "validation and test scores.</p>"
        body += table(("Kind", "Files", "Splits"),
                      [(g.get("kind"), " = ".join(_file_text(f) for f in g.get("files") or []),
                        ", ".join(map(str, g.get("splits") or [])))
                       for g in found["leakage"][:MAX_AUDIT_ROWS]],
                      text_columns=(0, 1, 2))
    groups = (found.get("exact_duplicates") or []) + (found.get("near_duplicates") or [])
    if groups:
        body += "<p>Duplicate groups (first ones):</p>" + table(
            ("Files", "Distance"), [(" = ".join(_file_text(f) for f in g.get("files") or []),
                                     g.get("distance", 0)) for g in groups[:MAX_AUDIT_ROWS]],
            text_columns=(0,))
    issues = found.get("label_issues") or []
    check = found.get("label_check") or {}
    if check.get("warning"):
        body += f'<p class="warn">{esc(check["warning"])}</p>'
    if issues:
        cards = [f'<div class="card">{_thumbnail(str(i.get("path", "")))}<br>#{esc(i.get("rank"))}: labelled '
                 f'<b>{esc(i.get("class"))}</b> ({percent(i.get("given_probability"))}), looks like '
                 f'<b>{esc(i.get("suggested_class"))}</b> ({percent(i.get("suggested_probability"))})'
                 f'<div class="mono">{esc(Path(str(i.get("path", ""))).name)}</div></div>'
                 for i in issues[:MAX_AUDIT_ROWS]]
        body += f"<p>Likely label errors, most likely first:</p><div class=\"cards\">{''.join(cards)}</div>"
    elif check.get("source") is None:
        body += "<p>Labels were not checked (give the audit a cross-validation study with --cv).</p>"
    return body


def _file_text(f: object) -> str:
    if not isinstance(f, dict):
        return str(f)
    return f"{Path(str(f.get('path', ''))).name} [{f.get('class')}, {f.get('split') or '-'}]"


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
