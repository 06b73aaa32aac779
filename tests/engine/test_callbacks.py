"""The callback protocol: the loop calls hooks in a fixed order, a callback ends a run with one
call, and a callback's own state rides in the checkpoint through a kill and a resume."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from workbench.engine.callbacks import (
    HOOKS,
    Callback,
    CallbackList,
    EarlyStoppingCallback,
    default_callbacks,
)
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.trainer import Trainer


class Recorder(Callback):
    """Writes down every hook it is called with."""

    def __init__(self):
        self.calls = []

    def __getattribute__(self, name):
        if name in HOOKS:
            calls = object.__getattribute__(self, "calls")
            return lambda run, *args: calls.append(name)
        return object.__getattribute__(self, name)


def _compress(calls):
    """Runs of the same hook as one entry with a count: [("on_step_end", 7), ...]."""
    out = []
    for name in calls:
        if out and out[-1][0] == name:
            out[-1][1] += 1
        else:
            out.append([name, 1])
    return [tuple(x) for x in out]


def test_hooks_are_called_in_order(fast_config, tmp_path):
    recorder = Recorder()
    trainer = Trainer(fast_config, out=tmp_path / "run", callbacks=[recorder])
    trainer.run()
    n = trainer.iterations
    per_epoch = [("on_epoch_start", 1), *[(h, 1) for _ in range(n) for h in ("on_step_end", "on_batch_end")],
                 ("on_validation_end", 1), ("on_epoch_end", 1)]
    assert _compress(recorder.calls) == _compress(
        ["on_setup", "on_run_start"] + [h for h, k in per_epoch * 2 for _ in range(k)] + ["on_run_end"])


class Boom(Callback):
    def on_batch_end(self, run, batch):
        raise RuntimeError("boom")


def test_a_failing_run_calls_on_error_not_on_run_end(fast_config, tmp_path):
    recorder = Recorder()
    with pytest.raises(RuntimeError, match="boom"):
        Trainer(fast_config, out=tmp_path / "run", callbacks=[Boom(), recorder]).run()
    assert recorder.calls == ["on_setup", "on_run_start", "on_epoch_start", "on_step_end", "on_error"]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["stop_reason"] == "error: boom"


class StopAtEpoch(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, run, logs):
        if logs["epoch"] == self.epoch:
            run.stop("stopped", f"told to stop at epoch {self.epoch}")
            run.stop("failed", "a second stop changes nothing")


def test_a_callback_stops_the_run_with_one_call_and_the_first_reason_stands(fast_config, tmp_path):
    fast_config.epochs = 5
    summary = Trainer(fast_config, out=tmp_path / "run", callbacks=[StopAtEpoch(2)]).run()
    assert summary["status"] == "stopped" and summary["stop_reason"] == "told to stop at epoch 2"
    assert summary["stopped_epoch"] == 2


def test_without_early_stopping_the_callback_is_absent_and_best_is_still_tracked(fast_config, tmp_path):
    fast_config.early_stopping, fast_config.epochs = False, 3
    fast_config.patience, fast_config.min_delta = 0, 100.0  # would stop at epoch 2 if present
    trainer = Trainer(fast_config, out=tmp_path / "run")
    assert trainer.callbacks.find(EarlyStoppingCallback) is None
    summary = trainer.run()
    assert summary["stopped_epoch"] == 3 and summary["stop_reason"] == "completed all 3 epochs"
    assert summary["best_epoch"] == 1  # nothing improved by 100
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")["epoch"] == 1


def test_two_callbacks_cannot_share_a_checkpoint_key(fast_config):
    class A(Callback):
        state_key = "schedule"

    with pytest.raises(ValueError, match="schedule"):
        CallbackList([*default_callbacks(fast_config, _best(fast_config)), A()])
    with pytest.raises(ValueError, match="model"):
        CallbackList([type("B", (Callback,), {"state_key": "model"})()], reserved=["model"])


def _best(config):
    from workbench.engine.callbacks import BestCheckpoint

    return BestCheckpoint(config.monitor)


# A training process with a counting callback that kills itself (SIGKILL) at the start of
# epoch 3, once epoch 2's checkpoint is on disk; then a resume in this process.
_KILLED_RUN = textwrap.dedent("""
    import json, os, signal, sys
    from workbench.config import TrainConfig
    from workbench.engine.callbacks import CheckpointSaver
    from workbench.engine.trainer import Trainer
    sys.path.insert(0, {tests!r})
    from engine.test_callbacks import BatchCounter

    class KillAtEpoch3(BatchCounter):
        def on_epoch_start(self, run, epoch):
            if epoch == 3:
                run.callbacks.find(CheckpointSaver).writer.wait_idle()
                os.kill(os.getpid(), signal.SIGKILL)

    config = TrainConfig.from_dict(json.loads({config!r}))
    Trainer(config, out={out!r}, callbacks=[KillAtEpoch3()]).run()
""")


class BatchCounter(Callback):
    """Counts batches over the whole run, resumes included."""

    state_key = "batch_counter"

    def __init__(self):
        self.batches = 0
        self.loaded = None

    def on_batch_end(self, run, batch):
        self.batches += 1

    def state_dict(self):
        return {"batches": self.batches}

    def load_state_dict(self, state):
        self.batches = self.loaded = state["batches"]


def test_a_callbacks_state_survives_a_kill_and_a_resume(fast_config, tmp_path):
    fast_config.epochs = 4
    run = tmp_path / "run"
    script = _KILLED_RUN.format(tests=os.path.dirname(os.path.dirname(__file__)),
                                config=json.dumps(fast_config.to_dict()), out=str(run))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr  # killed, not finished
    last = load_checkpoint(run / "checkpoints" / "last.pt")
    assert last["epoch"] == 2
    per_epoch = last["batch_counter"]["batches"] // 2
    assert per_epoch > 0

    counter = BatchCounter()
    summary = Trainer(fast_config, resume=run, callbacks=[counter]).run()
    assert summary["status"] == "finished" and summary["stopped_epoch"] == 4
    assert counter.loaded == 2 * per_epoch  # the state written after epoch 2 came back
    assert counter.batches == 4 * per_epoch  # and counting went on from it
    assert load_checkpoint(run / "checkpoints" / "last.pt")["batch_counter"] == {"batches": 4 * per_epoch}
