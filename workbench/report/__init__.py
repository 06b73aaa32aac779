"""``workbench report``: one self-contained HTML file about a run, a cross-validation study or a
search study — settings, data, curves, evidence, errors, environment — to keep or send.

The file embeds its images (``data:`` URIs) and refers to nothing outside itself, so it opens the
same anywhere, offline. Sections are listed in :mod:`workbench.report.sections`.
"""

from __future__ import annotations

from pathlib import Path

from workbench.report.page import esc, page
from workbench.report.source import ReportError, ReportSource, load_source
from workbench.runs import atomic_write_text

REPORT_FILE = "report.html"
_KIND = {"run": "Run", "cv": "Cross-validation study", "search": "Search study"}

__all__ = ["REPORT_FILE", "ReportError", "ReportSource", "build_report", "load_source", "write_report"]


def build_report(source: str | Path | ReportSource) -> str:
    """The report's HTML."""
    from workbench.report.sections import SECTIONS

    src = source if isinstance(source, ReportSource) else load_source(source)
    bodies = [(sid, title, fn(src)) for sid, title, fn in SECTIONS]
    if src.notes:  # damage any section found while reading, at the top where it is seen
        sid, title, body = bodies[0]
        bodies[0] = (sid, title, body + "".join(f'<p class="warn">{esc(note)}</p>' for note in src.notes))
    model = src.summary.get("model") or src.config.get("model") or ""
    title = f"{_KIND[src.kind]}: {src.path.name}"
    subtitle = " · ".join(str(p) for p in (model, src.summary.get("status"), src.scan.get("root")) if p)
    return page(title, subtitle, bodies)


def write_report(source: str | Path, out: str | Path | None = None) -> Path:
    """Writes the report (atomically) to ``out``, by default ``SOURCE/report.html``; returns its path."""
    source = Path(source)
    out = Path(out) if out else source / REPORT_FILE
    if out.is_dir():
        out = out / REPORT_FILE
    html = build_report(source)
    atomic_write_text(out, html)
    return out
