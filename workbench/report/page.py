"""The HTML page of a report: one self-contained file (inline CSS, images as ``data:`` URIs).

Every text that came from the user's files (class names, paths, settings) goes through :func:`esc`:
a class folder named ``<script>`` must show as that name, never run.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence

from workbench.safe_text import printable

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222;
       background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
header { background: #1f3b57; color: white; padding: 18px 24px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; opacity: 0.85; }
nav { font-size: 13px; margin: 12px 0; }
nav a { margin-right: 10px; color: #1f3b57; }
section { background: white; border: 1px solid #dde1e6; border-radius: 6px; padding: 12px 18px;
          margin: 14px 0; }
section h2 { font-size: 17px; margin: 4px 0 10px; color: #1f3b57; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { border: 1px solid #dde1e6; padding: 3px 8px; text-align: right; }
th { background: #eef1f4; } td.text, th.text { text-align: left; }
.missing { color: #777; font-style: italic; }
.warn { color: #a04000; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #dde1e6; border-radius: 4px; padding: 6px; font-size: 12px; width: 306px; }
.card img { image-rendering: pixelated; width: 96px; height: 96px; object-fit: contain; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.mono { font-family: ui-monospace, monospace; font-size: 12px; word-break: break-all; }
"""


def esc(value: object) -> str:
    """Text safe inside HTML: control characters visible (safe_text), markup escaped."""
    return html.escape(printable("" if value is None else value), quote=True)


def png_img(data: bytes, alt: str, width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    return (f'<img alt="{esc(alt)}"{size} src="data:image/png;base64,'
            f'{base64.b64encode(data).decode("ascii")}">')


def table(headers: Sequence[str], rows: Iterable[Sequence[object]],
          text_columns: Sequence[int] = (0,)) -> str:
    def cell(tag: str, i: int, value: object) -> str:
        klass = ' class="text"' if i in text_columns else ""
        return f"<{tag}{klass}>{value if isinstance(value, Raw) else esc(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table>{thead}<tbody>{body}</tbody></table>"


class Raw(str):
    """HTML we built ourselves, put into a table cell as it is."""


def missing(text: str) -> str:
    return f'<p class="missing">{esc(text)}</p>'


def section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{section_id}"><h2>{esc(title)}</h2>\n{body}\n</section>'


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """``sections``: (id, title, body HTML) in order; the page gets a table of contents."""
    nav = "".join(f'<a href="#{sid}">{esc(t)}</a>' for sid, t, _ in sections)
    body = "\n".join(section(sid, t, b) for sid, t, b in sections)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>"
            f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>\n<main><nav>{nav}</nav>\n"
            f"{body}\n</main></body></html>\n")


def percent(value: object) -> str:
    try:
        return f"{float(value):.1%}"
    except (TypeError, ValueError):
        return "–"


def number(value: object, digits: int = 4) -> str:
    try:
        return f"{float(value):.{digits}g}"
    except (TypeError, ValueError):
        return "–"
