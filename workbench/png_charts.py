"""Small charts as PNG images, drawn with Pillow: the engine has no plotting library and imports no
Qt, yet ``workbench lr-find`` saves its sweep and ``workbench report`` embeds curves.

:func:`line_chart` draws series (optionally with a shaded band, e.g. mean ± std over folds),
vertical markers and a legend below the plot area, on a linear or log-10 x axis; :func:`bar_chart`
draws bars with an optional reference line (the reliability diagram's diagonal).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127)]
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 20, 30, 50
_LEGEND_ROW = 18


def _font() -> ImageFont.ImageFont:
    """Pillow's built-in font at a readable size (its bitmap fallback where FreeType is missing)."""
    try:
        return ImageFont.load_default(size=13)
    except (TypeError, OSError):  # Pillow < 10.1, or no FreeType
        return ImageFont.load_default()


@dataclass
class Series:
    label: str
    x: Sequence[float]
    y: Sequence[float]
    color: tuple[int, int, int] | None = None
    band: tuple[Sequence[float], Sequence[float]] | None = None  # (low, high) per x
    points: bool = False  # draw markers as well as (or, with a single x, instead of) the line


@dataclass
class Marker:
    x: float
    label: str
    color: tuple[int, int, int] = (214, 39, 40)


@dataclass
class _Axes:
    x0: float
    x1: float
    y0: float  # bottom pixel
    y1: float  # top pixel
    lo_x: float
    hi_x: float
    lo_y: float
    hi_y: float
    log_x: bool = False
    notes: list[str] = field(default_factory=list)

    def px(self, v: float) -> float:
        v = math.log10(v) if self.log_x else v
        return self.x0 + (v - self.lo_x) / max(self.hi_x - self.lo_x, 1e-12) * (self.x1 - self.x0)

    def py(self, v: float) -> float:
        return self.y0 - (v - self.lo_y) / max(self.hi_y - self.lo_y, 1e-12) * (self.y0 - self.y1)


def ticks(low: float, high: float, n: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``, about ``n`` of them."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    step = 10 ** math.floor(math.log10((high - low) / n))
    for k in (1, 2, 5, 10):
        if (high - low) / (step * k) <= n:
            step *= k
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def line_chart(series: Sequence[Series], *, title: str, x_label: str, y_label: str = "",
               log_x: bool = False, markers: Sequence[Marker] = (), integer_x: bool = False,
               y_range: tuple[float, float] | None = None, size: tuple[int, int] = (720, 420)) -> Image.Image:
    """The series on one pair of axes; non-finite points are left out (a gap, not a crash)."""
    width, height = size
    legend_rows = len(series) + len(markers)
    image = Image.new("RGB", (width, height + legend_rows * _LEGEND_ROW), "white")
    draw = ImageDraw.Draw(image)
    draw.font = _font()
    xs = [x for s in series for x in _finite(s.x) if not log_x or x > 0]
    ys = [y for s in series for y in _finite(s.y)]
    ys += [v for s in series if s.band for part in s.band for v in _finite(part)]
    axes = _Axes(_LEFT, width - _RIGHT, height - _BOTTOM, _TOP, 0, 1, 0, 1, log_x)
    draw.rectangle([axes.x0, axes.y1, axes.x1, axes.y0], outline="black")
    draw.text((axes.x0, 8), title, fill="black")
    draw.text(((axes.x0 + axes.x1) // 2 - 4 * len(x_label), height - 20), x_label, fill="black")
    if y_label:
        draw.text((8, 8), y_label, fill="black")
    if not xs or not ys:
        draw.text((axes.x0 + 10, axes.y1 + 10), "no data", fill=(214, 39, 40))
        return image
    lx = [math.log10(x) for x in xs] if log_x else xs
    axes.lo_x, axes.hi_x = min(lx), max(lx)
    if axes.hi_x == axes.lo_x:
        axes.lo_x, axes.hi_x = axes.lo_x - 0.5, axes.hi_x + 0.5
    low, high = y_range if y_range else (min(ys), max(ys))
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
    axes.lo_y, axes.hi_y = low - pad, high + pad
    _draw_x_ticks(draw, axes, integer_x)
    for tick in ticks(axes.lo_y, axes.hi_y):
        y = axes.py(tick)
        draw.line([axes.x0 - 5, y, axes.x0, y], fill="black")
        draw.text((8, y - 6), f"{tick:.3g}", fill="black")
    legend_y = height
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        pts = [(axes.px(x), axes.py(y)) for x, y in zip(s.x, s.y, strict=False)
               if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
               and (not log_x or x > 0)]
        if s.band:
            _draw_band(image, axes, s, color)
            draw = ImageDraw.Draw(image)
            draw.font = _font()
        if len(pts) >= 2 and not s.points:
            draw.line(pts, fill=color, width=2)
        if s.points or len(pts) == 1:
            for x, y in pts:
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=color)
        draw.line([axes.x0, legend_y + 8, axes.x0 + 20, legend_y + 8], fill=color, width=3)
        draw.text((axes.x0 + 26, legend_y + 2), s.label, fill="black")
        legend_y += _LEGEND_ROW
    for marker in markers:
        if marker.x is None or (log_x and marker.x <= 0):
            continue
        x = axes.px(marker.x)
        if axes.x0 <= x <= axes.x1:
            draw.line([x, axes.y1, x, axes.y0], fill=marker.color, width=1)
        draw.line([axes.x0 + 10, legend_y + 2, axes.x0 + 10, legend_y + 14], fill=marker.color, width=2)
        draw.text((axes.x0 + 26, legend_y + 2), marker.label, fill=marker.color)
        legend_y += _LEGEND_ROW
    return image


def _draw_x_ticks(draw: ImageDraw.ImageDraw, axes: _Axes, integer_x: bool) -> None:
    if axes.log_x:
        values = [10.0 ** d for d in range(math.ceil(axes.lo_x), math.floor(axes.hi_x) + 1)]
        labels = [f"1e{round(math.log10(v))}" for v in values]
    else:
        values = ticks(axes.lo_x, axes.hi_x)
        if integer_x:
            values = sorted({round(v) for v in values if abs(v - round(v)) < 1e-9}) or \
                     sorted({math.ceil(axes.lo_x), math.floor(axes.hi_x)})
        labels = [f"{v:g}" for v in values]
    for value, label in zip(values, labels, strict=True):
        x = axes.px(value)
        draw.line([x, axes.y0, x, axes.y0 + 5], fill="black")
        draw.text((x - 3 * len(label), axes.y0 + 8), label, fill="black")


def _draw_band(image: Image.Image, axes: _Axes, s: Series, color) -> None:
    """A translucent polygon between the band's low and high lines."""
    low, high = s.band
    rows = [(x, lo, hi) for x, lo, hi in zip(s.x, low, high, strict=False)
            if None not in (x, lo, hi) and all(math.isfinite(v) for v in (x, lo, hi))]
    if len(rows) < 2:
        return
    polygon = [(axes.px(x), axes.py(hi)) for x, _, hi in rows]
    polygon += [(axes.px(x), axes.py(lo)) for x, lo, _ in reversed(rows)]
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).polygon(polygon, fill=(*color, 50))
    image.paste(Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB"))


def bar_chart(centers: Sequence[float], heights: Sequence[float], *, title: str, x_label: str,
              y_label: str = "", bar_width: float, diagonal: bool = False,
              x_range: tuple[float, float] = (0.0, 1.0), y_range: tuple[float, float] = (0.0, 1.0),
              size: tuple[int, int] = (420, 420), label: str = "") -> Image.Image:
    """Bars at ``centers``; ``diagonal`` draws y = x (a perfectly calibrated model's bars)."""
    width, height = size
    image = Image.new("RGB", (width, height + _LEGEND_ROW), "white")
    draw = ImageDraw.Draw(image)
    draw.font = _font()
    axes = _Axes(_LEFT, width - _RIGHT, height - _BOTTOM, _TOP, *x_range, *y_range)
    draw.rectangle([axes.x0, axes.y1, axes.x1, axes.y0], outline="black")
    draw.text((axes.x0, 8), title, fill="black")
    draw.text(((axes.x0 + axes.x1) // 2 - 4 * len(x_label), height - 20), x_label, fill="black")
    if y_label:
        draw.text((8, 8), y_label, fill="black")
    _draw_x_ticks(draw, axes, integer_x=False)
    for tick in ticks(*y_range):
        y = axes.py(tick)
        draw.line([axes.x0 - 5, y, axes.x0, y], fill="black")
        draw.text((8, y - 6), f"{tick:.3g}", fill="black")
    for c, h in zip(centers, heights, strict=True):
        if h is None or not math.isfinite(h):
            continue
        draw.rectangle([axes.px(c - bar_width / 2), axes.py(h), axes.px(c + bar_width / 2), axes.py(0)],
                       fill=PALETTE[0], outline="white")
    if diagonal:
        draw.line([axes.px(x_range[0]), axes.py(y_range[0]), axes.px(x_range[1]), axes.py(y_range[1])],
                  fill=(127, 127, 127), width=1)
    if label:
        draw.text((axes.x0, height + 2), label, fill="black")
    return image


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
