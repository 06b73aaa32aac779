"""A cross-validation study's out-of-fold predictions, as the report's sections use them."""

from __future__ import annotations

import numpy as np

from workbench.report.source import OOF, ReportSource


def out_of_fold(src: ReportSource) -> dict | None:
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
