"""EarlyStopping against the behaviour of keras/src/callbacks/early_stopping.py (Keras 3).

Every expected number is derived by hand from the Keras code: ``wait += 1`` happens before
the improvement check, an improvement returns early (resetting ``wait`` only when the baseline
is also beaten), and a stop needs ``wait >= patience and epoch > 0``. Epochs are 0-based.
"""

import json
import math
import warnings

import pytest

from workbench.engine.early_stopping import EarlyStopping, monitor_mode

NAN = float("nan")


def run(es, values, key="val_loss"):
    """Drive ``es`` like a fit loop; return (epochs run, epochs whose weights were captured)."""
    es.on_train_begin()
    epochs, captured = 0, []
    for epoch, value in enumerate(values):
        epochs += 1
        stop = es.on_epoch_end(epoch, {key: value})
        if es.should_capture_weights:
            captured.append(epoch)
        if stop:
            break
    es.on_train_end()
    return epochs, captured


# --- keras test_early_stopping: mode resolution -------------------------------------------

@pytest.mark.parametrize(
    ("mode", "monitor", "expected"),
    [
        ("max", "val_mse", "max"),
        ("min", "val_loss", "min"),
        ("auto", "val_mse", "min"),
        ("auto", "loss", "min"),
        ("auto", "acc", "max"),
        ("auto", "val_accuracy", "max"),
        ("auto", "accuracy", "max"),
        ("auto", "hinge", "min"),
        ("auto", "f1_score", "max"),
    ],
)
def test_mode_resolution(mode, monitor, expected):
    assert monitor_mode(monitor, mode) == expected
    assert EarlyStopping(monitor=monitor, mode=mode).resolved_mode == expected


def test_unknown_monitor_in_auto_mode_raises():
    with pytest.raises(ValueError, match="mode='max'.*mode='min'"):
        EarlyStopping(monitor="unknown")
    with pytest.raises(ValueError, match="unknown"):
        monitor_mode("unknown")
    # An explicit mode needs no name knowledge.
    assert EarlyStopping(monitor="unknown", mode="max").resolved_mode == "max"


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="mode bogus is unknown"):
        es = EarlyStopping(monitor="val_accuracy", mode="bogus")
    assert (es.mode, es.resolved_mode) == ("auto", "max")
    with pytest.raises(ValueError):
        monitor_mode("val_loss", "bogus")


# --- keras test_early_stopping_patience ---------------------------------------------------

@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_patience(patience):
    es = EarlyStopping(monitor="loss", patience=patience)
    epochs, _ = run(es, [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5], key="loss")
    # Best is 8.0 at epoch 2; wait then reaches max(patience, 1) at epoch 2 + max(patience, 1)
    # (patience 0 still needs the one non-improving epoch 3).
    assert es.stopped_epoch == max(patience, 1) + 2
    assert epochs == es.stopped_epoch + 1
    assert (es.best, es.best_epoch) == (8.0, 2)


def test_docstring_example_runs_four_epochs():
    es = EarlyStopping(monitor="loss", patience=3)
    epochs, _ = run(es, [5.0, 5.0, 6.0, 7.0, 8.0, 9.0, 9.0, 9.0, 9.0, 9.0], key="loss")
    # Epoch 0 sets best (best was None); epochs 1, 2, 3 make wait 1, 2, 3 -> stop at epoch 3.
    assert epochs == 4
    assert es.stopped_epoch == 3
    assert es.stop_reason() == "loss did not improve for 3 epochs"


# --- keras test_early_stopping_final_weights_when_restoring_model_weights ----------------

def test_restore_best_weights_final_weights():
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    epochs, captured = run(es, [0.2, 0.15, 0.1, 0.11, 0.12])
    # Improvements at 0, 1, 2 each snapshot; epochs 3, 4 make wait 1, 2 -> stop at epoch 4.
    assert epochs == 5
    assert captured == [0, 1, 2]
    # on_train_end restores the last snapshot: epoch 2 (loss 0.1).
    assert es.should_restore_weights
    assert es.best_epoch == 2


def test_restore_when_no_epoch_beats_baseline():
    es = EarlyStopping(monitor="val_loss", patience=5, baseline=0.5, restore_best_weights=True)
    epochs, captured = run(es, [0.9, 0.8, 0.7, 0.71, 0.72, 0.73])
    # Nothing beats 0.5, so wait is never reset: wait == epoch + 1, reaching 5 at epoch 4.
    assert epochs == 5
    assert es.stopped_epoch == 4
    # Best epoch is 2 (0.7), the last snapshot taken.
    assert captured == [0, 1, 2]
    assert es.should_restore_weights


def test_restore_when_another_callback_stops_training():
    es = EarlyStopping(monitor="val_loss", patience=5, baseline=0.5, restore_best_weights=True)
    es.on_train_begin()
    captured, epochs = [], 0
    for epoch, loss in enumerate([0.9, 0.8, 0.7, 0.71, 0.72, 0.73]):
        epochs += 1
        stop = es.on_epoch_end(epoch, {"val_loss": loss})
        captured += [epoch] if es.should_capture_weights else []
        if stop or epoch == 3:  # another callback sets model.stop_training after epoch 3
            break
    es.on_train_end()
    # wait is only 4 < 5 at epoch 3, so EarlyStopping itself did not stop ...
    assert (epochs, es.stopped_epoch, es.stop_training) == (4, 0, False)
    assert es.stop_reason() == ""
    # ... but Keras restores best_weights whenever they exist: epoch 2.
    assert captured == [0, 1, 2]
    assert es.should_restore_weights


def test_first_monitored_epoch_is_captured_even_without_improvement():
    es = EarlyStopping(patience=1, restore_best_weights=True)
    es.on_train_begin()
    es.on_epoch_end(0, {"val_loss": 1.0})
    es.on_epoch_end(1, {"val_loss": 2.0})
    assert not es.should_capture_weights  # reset at the start of each on_epoch_end
    # A state whose best came without a snapshot (best_weights None in Keras terms).
    es2 = EarlyStopping(patience=5, restore_best_weights=True)
    es2.on_train_begin()
    es2.load_state_dict({**es2.state_dict(), "best": 1.0})
    es2.on_epoch_end(0, {"val_loss": 2.0})
    # 2.0 < 1.0 is False, yet best_weights was None, so Keras snapshots epoch 0 anyway.
    assert es2.should_capture_weights
    assert (es2.best, es2.best_epoch) == (1.0, 0)


def test_no_capture_or_restore_without_restore_best_weights():
    es = EarlyStopping(patience=2)
    _, captured = run(es, [0.2, 0.15, 0.1, 0.11, 0.12])
    # Keras only calls get_weights/set_weights when restore_best_weights is True.
    assert captured == []
    assert not es.should_restore_weights


# --- keras test_early_stopping_with_baseline ---------------------------------------------

def test_baseline_not_beaten_counts_from_first_epoch():
    es = EarlyStopping(monitor="mse", patience=3, baseline=0.6)
    epochs, _ = run(es, [0.9] * 20, key="mse")
    # Epoch 0 improves on None but not on 0.6, so wait stays 1; wait hits 3 at epoch 2.
    assert epochs == 3  # Keras asserts >= patience
    assert es.stop_reason() == "mse did not beat the baseline 0.6 in 3 epochs"


def test_baseline_improvements_above_baseline_never_stop():
    es = EarlyStopping(patience=3, baseline=0.6)
    epochs, _ = run(es, [0.9, 0.8, 0.7, 0.65, 0.64, 0.63])
    # Each epoch improves on best, which returns before the patience check.
    assert epochs == 6
    assert es.wait == 6  # ... while wait kept counting, since 0.6 was never beaten
    assert not es.stop_training
    # One non-improving epoch then stops at once: wait 7 >= 3.
    assert es.on_epoch_end(6, {"val_loss": 0.7})
    assert es.stopped_epoch == 6


def test_baseline_beaten_resets_wait():
    es = EarlyStopping(patience=2, baseline=0.6)
    epochs, _ = run(es, [0.9, 0.5, 0.6, 0.6, 0.6])
    # Epoch 1 beats best and baseline -> wait 0; epochs 2, 3 make wait 1, 2 -> stop at 3.
    assert epochs == 4
    assert es.stop_reason() == "val_loss did not improve for 2 epochs"


# --- keras test_early_stopping_with_start_from_epoch -------------------------------------

def test_start_from_epoch_with_patience():
    es = EarlyStopping(monitor="mse", patience=3, start_from_epoch=2, restore_best_weights=True)
    epochs, captured = run(es, [1.0] * 20, key="mse")
    # Epochs 0-1 ignored; epoch 2 sets best; epochs 3, 4, 5 make wait 1..3 -> stop at 5.
    assert epochs == 6  # Keras asserts >= patience + start_from_epoch
    assert captured == [2]


def test_start_from_epoch_with_zero_patience():
    es = EarlyStopping(monitor="mse", patience=0, start_from_epoch=2)
    epochs, _ = run(es, [0.0, 0.0, 1.0, 1.0, 1.0], key="mse")
    # The 0.0s are warm-up and never become best; epoch 2 sets best 1.0; epoch 3 stops.
    assert epochs == 4  # Keras asserts >= start_from_epoch
    assert (es.best, es.best_epoch) == (1.0, 2)


def test_restore_with_only_warmup_epochs_restores_nothing():
    es = EarlyStopping(start_from_epoch=5, restore_best_weights=True)
    _, captured = run(es, [1.0, 2.0, 3.0])
    # best_weights stays None, so Keras skips set_weights.
    assert captured == []
    assert not es.should_restore_weights
    assert es.best is None


# --- keras test_early_stopping_reuse / reuse_across_models --------------------------------

def test_reuse_after_on_train_begin_forgets_previous_best():
    es = EarlyStopping(monitor="loss", patience=5)
    first, _ = run(es, [1.0, 0.5, 0.1, 0.05, 0.01], key="loss")
    assert first == 5 and es.best == 0.01
    second, _ = run(es, [3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 2.4, 2.3], key="loss")
    # best is reset to None, so 3.0 is an improvement rather than 5 epochs worse than 0.01.
    assert second == 8
    assert (es.best, es.wait, es.stopped_epoch) == (2.3, 0, 0)


def test_epoch_zero_never_stops():
    es = EarlyStopping(patience=0)
    run(es, [1.0])
    # Continuing without on_train_begin keeps best 1.0: epoch 0 is worse (wait 1 >= 0) but the
    # `epoch > 0` guard holds the stop; epoch 1 then stops.
    assert es.on_epoch_end(0, {"val_loss": 2.0}) is False
    assert es.on_epoch_end(1, {"val_loss": 2.0}) is True
    assert es.stop_reason() == "val_loss did not improve for 2 epochs"


# --- modes, min_delta, NaN -----------------------------------------------------------------

def test_max_mode():
    es = EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True)
    epochs, captured = run(es, [0.5, 0.6, 0.7, 0.65, 0.68, 0.69], key="val_accuracy")
    # Best 0.7 at epoch 2; epochs 3, 4 make wait 1, 2 -> stop at 4.
    assert (epochs, captured) == (5, [0, 1, 2])


def test_explicit_max_mode_on_a_loss():
    es = EarlyStopping(monitor="val_loss", mode="max")
    epochs, _ = run(es, [1.0, 2.0, 3.0, 2.0, 4.0])
    # Rising values improve; 2.0 at epoch 3 does not -> patience 0 stops there.
    assert epochs == 4


@pytest.mark.parametrize("min_delta", [0.25, -0.25])  # Keras takes abs(min_delta)
def test_min_delta_min_mode(min_delta):
    es = EarlyStopping(min_delta=min_delta)
    # 0.75 + 0.25 < 1.0 is False: a drop of exactly min_delta is not an improvement.
    assert run(es, [1.0, 0.75]) == (2, [])
    # 0.5 + 0.25 < 1.0 improves; then 0.375 + 0.25 < 0.5 is False -> stop at epoch 2.
    assert run(es, [1.0, 0.5, 0.375, 0.0])[0] == 3
    assert es.best == 0.5


@pytest.mark.parametrize("min_delta", [0.25, -0.25])
def test_min_delta_max_mode(min_delta):
    es = EarlyStopping(monitor="val_accuracy", min_delta=min_delta)
    # 0.75 - 0.25 > 0.5 is False: a rise of exactly min_delta is not an improvement.
    assert run(es, [0.5, 0.75], key="val_accuracy")[0] == 2
    # 0.75 - 0.25 > 0.25 improves; 0.875 - 0.25 > 0.75 is False -> stop at epoch 2.
    assert run(es, [0.25, 0.75, 0.875, 1.0], key="val_accuracy")[0] == 3


def test_nan_after_a_real_value_is_never_an_improvement():
    es = EarlyStopping(patience=1)
    # nan < 1.0 is False -> wait 1 >= 1 stops at epoch 1.
    assert run(es, [1.0, NAN, NAN, 0.5])[0] == 2
    assert es.best == 1.0


def test_nan_as_first_value_becomes_best_and_blocks_all_improvement():
    es = EarlyStopping(patience=1, restore_best_weights=True)
    epochs, captured = run(es, [NAN, 1.0, 0.5])
    # best None -> NaN is an "improvement"; then 1.0 < nan is False -> stop at epoch 1.
    assert (epochs, captured) == (2, [0])
    assert math.isnan(es.best)


def test_nan_first_value_with_baseline_does_not_reset_wait():
    es = EarlyStopping(patience=2, baseline=0.5)
    # Epoch 0: wait 1, improves on None but nan < 0.5 is False; epoch 1: wait 2 -> stop.
    assert run(es, [NAN, 0.1, 0.1])[0] == 2


# --- missing metric, state_dict, stop_reason ----------------------------------------------

def test_missing_monitor_warns_and_does_nothing():
    es = EarlyStopping(patience=0, restore_best_weights=True)
    es.on_train_begin()
    with pytest.warns(UserWarning, match="`val_loss` which is not available.*: loss,acc"):
        assert es.on_epoch_end(3, {"loss": 1.0, "acc": 0.5}) is False
    assert (es.wait, es.best, es.should_capture_weights) == (0, None, False)


def test_state_dict_round_trip_mid_run_gives_identical_decisions():
    values = [0.9, 0.8, 0.85, 0.7, 0.75, 0.75, 0.72, NAN, 0.71, 0.8, 0.9, 0.95]
    kwargs = dict(min_delta=0.01, patience=4, baseline=0.72, restore_best_weights=True,
                  start_from_epoch=1)

    def trace(es, start):
        out = []
        for epoch in range(start, len(values)):
            stop = es.on_epoch_end(epoch, {"val_loss": values[epoch]})
            out.append((stop, es.should_capture_weights, es.wait, es.best_epoch))
            if stop:
                break
        return out

    ref = EarlyStopping(**kwargs)
    ref.on_train_begin()
    expected = trace(ref, 0)
    # Epoch 0 warm-up; 0.7 at epoch 3 beats best and baseline (wait 0); epochs 4-7 make wait
    # 1..4 (NaN included) -> stop at epoch 7 after captures at 1 (first) and 3 (improvement).
    assert len(expected) == 8 and ref.stopped_epoch == 7
    assert [epoch for epoch, row in enumerate(expected) if row[1]] == [1, 3]
    for split in range(len(expected)):
        first = EarlyStopping(**kwargs)
        first.on_train_begin()
        for epoch in range(split):
            first.on_epoch_end(epoch, {"val_loss": values[epoch]})
        state = json.loads(json.dumps(first.state_dict()))  # plain values only
        resumed = EarlyStopping(**kwargs)
        resumed.on_train_begin()
        resumed.load_state_dict(state)
        assert trace(resumed, split) == expected[split:]
        assert resumed.state_dict() == ref.state_dict()


def test_load_state_dict_rejects_other_monitor():
    state = EarlyStopping(monitor="val_loss").state_dict()
    with pytest.raises(ValueError, match="val_loss"):
        EarlyStopping(monitor="val_accuracy").load_state_dict(state)


def test_stop_reason_singular_and_empty():
    es = EarlyStopping(monitor="loss")
    assert es.stop_reason() == ""
    run(es, [1.0, 1.0], key="loss")
    # Patience 0: epoch 1 makes wait 1 and stops.
    assert es.stop_reason() == "loss did not improve for 1 epoch"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a normal run warns about nothing
        run(es, [1.0, 0.5], key="loss")
    assert es.stop_reason() == ""
