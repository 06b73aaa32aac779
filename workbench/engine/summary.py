"""How a finished run is described to people."""

from __future__ import annotations


def one_line_summary(summary: dict) -> str:
    """E.g. "best epoch 7 of 10, stopped early: val_loss did not improve for 3 epochs"."""
    if not summary.get("best_epoch"):
        return f"no epoch finished; {summary.get('stop_reason', '')}".strip()
    text = (f"best epoch {summary['best_epoch']} of {summary['stopped_epoch']}, "
            f"{summary['stop_reason']}")
    best = summary.get("best_metrics") or {}
    if best and best.get("val_loss") is not None:
        text += f" (val_loss {best['val_loss']:.4f}, val_acc {best['val_acc']:.1%})"
    elif best:
        text += f" (no validation split; train_loss {best['train_loss']:.4f})"
    return text
