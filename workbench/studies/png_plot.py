"""Small line charts as PNG files, drawn with Pillow (the engine has no plotting library and
imports no Qt): the learning-rate sweep for the command line's ``lr_find.png``."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

_W, _H = 720, 420
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 20, 30, 50


def _ticks(low: float, high: float, n: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = 10 ** math.floor(math.log10((high - low) / n))
    for k in (1, 2, 5, 10):
        if (high - low) / (step * k) <= n:
            step *= k
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def save_lr_plot(result, path: str | Path) -> None:
    """Smoothed loss against the learning rate (log scale), the suggestion marked."""
    image = Image.new("RGB", (_W, _H), "white")
    draw = ImageDraw.Draw(image)
    points = [(lr, loss) for lr, loss in zip(result.lrs, result.losses, strict=False)
              if lr > 0 and math.isfinite(loss)]
    x0, x1, y0, y1 = _LEFT, _W - _RIGHT, _H - _BOTTOM, _TOP
    draw.rectangle([x0, y1, x1, y0], outline="black")
    draw.text((x0, 8), "Learning-rate range test: smoothed training loss", fill="black")
    draw.text(((x0 + x1) // 2 - 60, _H - 20), "learning rate (log scale)", fill="black")
    if len(points) >= 2:
        lx = [math.log10(lr) for lr, _ in points]
        losses = [loss for _, loss in points]
        low, high = min(losses), max(losses)
        pad = (high - low) * 0.05 or 1.0
        low, high = low - pad, high + pad

        def px(v: float) -> float:
            return x0 + (v - lx[0]) / max(lx[-1] - lx[0], 1e-12) * (x1 - x0)

        def py(v: float) -> float:
            return y0 - (v - low) / (high - low) * (y0 - y1)

        for decade in range(math.ceil(lx[0]), math.floor(lx[-1]) + 1):
            x = px(decade)
            draw.line([x, y0, x, y0 + 5], fill="black")
            draw.text((x - 12, y0 + 8), f"1e{decade}", fill="black")
        for tick in _ticks(low, high):
            y = py(tick)
            draw.line([x0 - 5, y, x0, y], fill="black")
            draw.text((8, y - 6), f"{tick:.3g}", fill="black")
        draw.line([(px(a), py(b)) for a, b in zip(lx, losses, strict=True)], fill=(31, 119, 180), width=2)
        if result.suggested_lr:
            x = px(math.log10(result.suggested_lr))
            draw.line([x, y1, x, y0], fill=(214, 39, 40), width=1)
            draw.text((min(x + 4, x1 - 170), y1 + 4),
                      f"suggested {result.suggested_lr:.2g} ({result.rule})", fill=(214, 39, 40))
    if not result.suggested_lr and result.message:
        draw.text((x0 + 10, y1 + 10), "No suggestion: " + result.message[:90], fill=(214, 39, 40))
    image.save(Path(path))
