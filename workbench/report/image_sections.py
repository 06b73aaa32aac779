"""The report's sections that show the dataset's images: the misclassified ones beside their
heat maps, and the audit's findings (see :mod:`workbench.report.sections` for the list)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.png_charts import png_bytes
from workbench.report.page import esc, missing, percent, png_img, table
from workbench.report.predictions import out_of_fold
from workbench.report.source import OOF, ReportSource

MAX_MISCLASSIFIED = 24
THUMBNAIL = 96


# Misclassified examples -------------------------------------------------------------------------
def misclassified_examples(src: ReportSource) -> str:
    oof = out_of_fold(src)
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
