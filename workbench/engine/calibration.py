"""Calibrated confidence: temperature scaling, the expected calibration error, reliability bins.

A network trained with cross-entropy is usually over-confident: of the images it calls 95 % sure,
far fewer than 95 % are right. Temperature scaling (Guo et al., "On Calibration of Modern Neural
Networks", 2017) divides every logit by one number ``T`` fitted on the validation set: the ranking
of the classes (and so the accuracy) stays the same, only the probabilities change.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

BINS = 10  # equal-width confidence bins of the reliability diagram and the ECE
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0  # beyond these, the fit is an artefact of a tiny set


def nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood (cross-entropy) of ``labels`` under softmax(logits / T)."""
    if len(labels) == 0:
        return float("nan")
    return float(F.cross_entropy(logits.double() / temperature, labels.long()))


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 100) -> float:
    """The temperature minimising the NLL of ``labels`` under softmax(logits / T).

    L-BFGS on log T (so T stays positive and the steps are scale-free), in float64. The result is
    clamped to [MIN_TEMPERATURE, MAX_TEMPERATURE]; if the optimiser does not improve on T = 1
    (e.g. every logit is equal), 1 is returned, so calibration never makes the NLL worse.
    """
    logits, labels = logits.detach().double(), labels.detach().long()
    if len(labels) == 0:
        return 1.0
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    temperature = float(log_t.detach().exp().clamp(MIN_TEMPERATURE, MAX_TEMPERATURE))
    if not math.isfinite(temperature) or nll(logits, labels, temperature) > nll(logits, labels):
        return 1.0
    return temperature


def reliability_bins(probabilities: torch.Tensor, labels: torch.Tensor, bins: int = BINS) -> list[dict]:
    """Each of ``bins`` equal-width confidence bins, (0, 1/bins], …, ((bins-1)/bins, 1]: how many
    predictions fall in it (``count``), their mean confidence and their accuracy (None if empty).
    The confidence of a prediction is its top class probability."""
    confidence, predicted = probabilities.double().max(1)
    correct = (predicted == labels.long()).double()
    # Bin i holds confidences in (i/bins, (i+1)/bins]; ceil puts an exact edge in the lower bin.
    index = (confidence * bins).ceil().long().clamp(1, bins) - 1
    rows = []
    for i in range(bins):
        mask = index == i
        n = int(mask.sum())
        rows.append({"low": i / bins, "high": (i + 1) / bins, "count": n,
                     "confidence": float(confidence[mask].mean()) if n else None,
                     "accuracy": float(correct[mask].mean()) if n else None})
    return rows


def expected_calibration_error(probabilities: torch.Tensor, labels: torch.Tensor, bins: int = BINS) -> float:
    """ECE: the mean over predictions of |accuracy − confidence| of their bin, i.e.
    Σ_bins (count / N) · |accuracy − mean confidence| (0: perfectly calibrated)."""
    rows = reliability_bins(probabilities, labels, bins)
    total = sum(r["count"] for r in rows)
    if total == 0:
        return float("nan")
    return sum(r["count"] / total * abs(r["accuracy"] - r["confidence"]) for r in rows if r["count"])


def calibration_report(logits: torch.Tensor, labels: torch.Tensor, bins: int = BINS) -> dict:
    """Fit the temperature on ``logits``/``labels`` and describe the probabilities before and
    after: NLL, ECE and the reliability bins of each (plain floats and lists, for JSON)."""
    logits, labels = logits.detach().double(), labels.detach().long()
    temperature = fit_temperature(logits, labels)
    before, after = torch.softmax(logits, 1), torch.softmax(logits / temperature, 1)
    return {
        "temperature": temperature,
        "images": len(labels),
        "bins": bins,
        "nll_before": nll(logits, labels),
        "nll_after": nll(logits, labels, temperature),
        "ece_before": expected_calibration_error(before, labels, bins),
        "ece_after": expected_calibration_error(after, labels, bins),
        "reliability_before": reliability_bins(before, labels, bins),
        "reliability_after": reliability_bins(after, labels, bins),
    }
