"""The learning-rate sweep as a PNG file for the command line's ``lr_find.png``."""

from __future__ import annotations

import math
from pathlib import Path

from workbench.png_charts import Marker, Series, line_chart


def save_lr_plot(result, path: str | Path) -> None:
    """Smoothed loss against the learning rate (log scale), the suggestion marked."""
    points = [(lr, loss) for lr, loss in zip(result.lrs, result.losses, strict=False)
              if lr > 0 and math.isfinite(loss)]
    markers = []
    if result.suggested_lr:
        markers.append(Marker(result.suggested_lr, f"suggested {result.suggested_lr:.2g} ({result.rule})"))
    elif result.message:
        markers.append(Marker(float("nan"), "No suggestion: " + result.message[:90]))
    image = line_chart([Series("smoothed training loss", [p[0] for p in points], [p[1] for p in points])],
                       title="Learning-rate range test: smoothed training loss",
                       x_label="learning rate (log scale)", log_x=True, markers=markers)
    image.save(Path(path))
