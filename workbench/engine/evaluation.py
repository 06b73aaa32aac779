"""Validation: loss and accuracy without gradients, and the end-of-run per-class report."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def flip_tta_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Test-time augmentation: the log of the mean of the softmax of ``x`` and of its mirror
    image (left-right). As logits these give exactly that mean back through softmax, and plain
    cross-entropy on them is the loss of the averaged prediction."""
    probabilities = (torch.softmax(model(x).float(), 1) + torch.softmax(model(x.flip(-1)).float(), 1)) / 2
    return probabilities.clamp_min(torch.finfo(torch.float32).tiny).log()


@torch.inference_mode()
def evaluate(model: nn.Module, source, batch_size: int, prepare: Callable[[torch.Tensor], torch.Tensor],
             criterion: nn.Module, device: torch.device, amp: bool,
             collect: bool = False, indices: torch.Tensor | None = None, tta: bool = False) -> dict:
    """Mean loss and accuracy over ``source`` (or its ``indices``); with ``collect`` also every
    prediction, its confidence, the class probabilities (``probabilities``: a float tensor
    [N, classes], the out-of-fold predictions of cross-validation) and the float32 ``logits``
    they came from (what temperature scaling fits). ``loss_sum`` and ``correct``
    let several processes combine their parts exactly. ``tta`` scores each image with its
    mirror image (:func:`flip_tta_logits`).

    Runs in inference mode (no autograd bookkeeping at all); the caller passes a batch larger than
    training's, as nothing is kept for a backward pass. Sums stay on the device and are read once
    at the end (no per-batch synchronisation).
    """
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    preds, probs, labels, raw = [], [], [], []
    order = torch.arange(len(source)) if indices is None else indices
    for images, y in source.batches(order, batch_size):
        y = y.to(device, non_blocking=True)
        x = prepare(images.to(device, non_blocking=True))
        with torch.autocast(device.type, enabled=amp):
            logits = flip_tta_logits(model, x) if tta else model(x)
        logits = logits.float()
        loss_sum += criterion(logits, y) * len(y)
        pred = logits.argmax(1)
        correct += (pred == y).sum()
        seen += len(y)
        if collect:
            preds.append(pred.cpu())
            probs.append(torch.softmax(logits, 1).cpu())
            raw.append(logits.cpu())
            labels.append(y.cpu())
    result = {
        "loss": (loss_sum / max(seen, 1)).item(),
        "accuracy": correct.item() / max(seen, 1),
        "count": seen,
        "loss_sum": loss_sum.item(),
        "correct": correct.item(),
    }
    if collect:
        result["predictions"] = torch.cat(preds).tolist() if preds else []
        result["probabilities"] = torch.cat(probs) if probs else torch.zeros((0, 0))
        result["logits"] = torch.cat(raw) if raw else torch.zeros((0, 0))
        result["confidences"] = result["probabilities"].max(1).values.tolist() if probs else []
        result["labels"] = torch.cat(labels).tolist() if labels else []
    return result


def class_report(labels: list[int], predictions: list[int], class_names: list[str]) -> dict:
    """Confusion matrix (rows: true class, columns: predicted) and per-class precision/recall/F1."""
    k = len(class_names)
    matrix = torch.zeros((k, k), dtype=torch.long)
    if labels:
        matrix.index_put_((torch.tensor(labels), torch.tensor(predictions)),
                          torch.ones(len(labels), dtype=torch.long), accumulate=True)
    per_class = []
    for i, name in enumerate(class_names):
        tp = int(matrix[i, i])
        predicted, actual = int(matrix[:, i].sum()), int(matrix[i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append({"class": name, "precision": precision, "recall": recall, "f1": f1,
                          "support": actual})
    return {"confusion_matrix": matrix.tolist(), "per_class": per_class}


def misclassified(paths: list[str], result: dict, class_names: list[str], limit: int) -> list[dict]:
    """The first ``limit`` wrongly predicted images of an ``evaluate(..., collect=True)`` result."""
    rows = zip(paths, result["labels"], result["predictions"], result["confidences"], strict=True)
    return [{"path": path, "true": class_names[t], "predicted": class_names[p], "confidence": c}
            for path, t, p, c in rows if t != p][:limit]
