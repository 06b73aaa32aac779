"""Early stopping driven by per-epoch metrics, with Keras 3 semantics and no Keras dependency.

Follows ``keras/src/callbacks/early_stopping.py`` of keras-team/keras at commit
9a97f390775f015cc75d3898c5a0cf8f5a551293 (Keras 3, after PR #20533 which resets ``best`` to
``None`` in ``on_train_begin``), decision for decision. Differences, all because there is no
model here: weights are never touched (``should_capture_weights`` / ``should_restore_weights``
tell the caller when Keras would call ``get_weights`` / ``set_weights``), ``mode="auto"`` is
resolved from the metric name alone and therefore at construction, and there is no ``verbose``.
"""

from __future__ import annotations

import warnings

_MODES = ("auto", "min", "max")
# Keras reads the direction off the compiled metric objects; without a model we use the
# directions of Keras' built-in metrics of the same names.
_MAX_NAMES = {"acc", "auc", "precision", "recall", "f1_score", "fbeta_score"}
_MIN_NAMES = {"mse", "mae", "mape", "msle", "hinge", "squared_hinge", "categorical_hinge",
              "log_cosh", "kl_divergence", "poisson"}


def monitor_mode(monitor: str, mode: str = "auto") -> str:
    """Return "min" or "max": whether smaller or larger values of ``monitor`` are better.

    ``mode`` "min"/"max" is returned as is; "auto" infers it from the name (a ``val_`` prefix is
    ignored, as in Keras). Raises ValueError for an unknown mode or a name it cannot classify.
    """
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    name = monitor.removeprefix("val_")
    if name.endswith(("loss", "error", "crossentropy")) or name in _MIN_NAMES:
        return "min"
    if name.endswith(("accuracy", "_acc")) or name in _MAX_NAMES:
        return "max"
    raise ValueError(
        f"EarlyStopping received monitor={monitor!r} but cannot automatically determine "
        "whether that metric should be maximized or minimized. Pass mode='max' to stop on "
        "the highest value, or mode='min' to stop on the lowest value."
    )


def improves(value: float, reference: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """True when ``value`` beats ``reference`` by more than ``min_delta`` in direction ``mode``
    ("min"/"max"); anything beats None. Plain comparisons, so NaN on either side never improves
    (as in Keras' ops)."""
    if reference is None:
        return True
    if mode == "min":
        return value + abs(min_delta) < reference
    return value - abs(min_delta) > reference


class EarlyStopping:
    """Stop training when ``monitor`` has stopped improving (``keras.callbacks.EarlyStopping``).

    Call ``on_train_begin()``, then ``on_epoch_end(epoch, logs)`` after every epoch (0-based),
    stopping when it returns True, then ``on_train_end()``.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        self.monitor = monitor
        self.patience = patience
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        if mode not in _MODES:
            warnings.warn(f"EarlyStopping mode {mode} is unknown, fallback to auto mode.",
                          stacklevel=2)
            mode = "auto"
        self.mode = mode
        self.resolved_mode = monitor_mode(monitor, mode)
        self.on_train_begin()

    def on_train_begin(self) -> None:
        """Reset the run state so one instance can drive several trainings."""
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.stop_training = False
        # Stands for Keras' `best_weights is not None`: the caller holds a snapshot.
        self._has_best_weights = self._capture = self._restore = False

    def _is_improvement(self, value, reference) -> bool:
        return improves(value, reference, self.resolved_mode, self.min_delta)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        """Record the metrics of ``epoch``; return True when training should stop."""
        self._capture = False
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs.keys())}",
                          stacklevel=2)
        if current is None or epoch < self.start_from_epoch:
            return self.stop_training
        current = float(current)
        if self.restore_best_weights and not self._has_best_weights:
            # First monitored epoch: its weights are the best seen, improvement or not.
            self._has_best_weights = self._capture = True
            self.best_epoch = epoch
        # Keras counts the epoch before checking it, so improvements that fail to beat the
        # baseline still use up patience.
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self._capture = True
            # Only restart the count when beating both the baseline and the previous best.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return self.stop_training
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.stop_training = True
        return self.stop_training

    def on_train_end(self) -> None:
        """Decide whether the caller must restore the best weights (see should_restore_weights)."""
        self._restore = self.restore_best_weights and self._has_best_weights

    @property
    def should_capture_weights(self) -> bool:
        """True when the last on_epoch_end made the current weights the best weights."""
        return self._capture

    @property
    def should_restore_weights(self) -> bool:
        """True after on_train_end when the best weights must replace the current ones."""
        return self._restore

    def state_dict(self) -> dict:
        """Return the run state as plain Python values, for checkpoints and resuming."""
        return {"monitor": self.monitor, "mode": self.resolved_mode, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best": self.best,
                "best_epoch": self.best_epoch, "stop_training": self.stop_training,
                "has_best_weights": self._has_best_weights}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from state_dict(); refuses one recorded for another metric/direction."""
        if (state["monitor"], state["mode"]) != (self.monitor, self.resolved_mode):
            raise ValueError(f"state is for {state['monitor']} ({state['mode']}), not "
                             f"{self.monitor} ({self.resolved_mode})")
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.stop_training = bool(state["stop_training"])
        self._has_best_weights = bool(state["has_best_weights"])
        self._capture = self._restore = False

    def stop_reason(self) -> str:
        """Say in words why training stopped early; "" when it did not."""
        if not self.stop_training:
            return ""
        n = f"{self.wait} epoch" + ("" if self.wait == 1 else "s")
        beat_baseline = (self.baseline is None or self.best is None
                         or self._is_improvement(self.best, self.baseline))
        if not beat_baseline:
            return f"{self.monitor} did not beat the baseline {self.baseline:g} in {n}"
        return f"{self.monitor} did not improve for {n}"
