"""Both kinds of run, one interface: in a thread of this process and under torchrun (2 CPU
processes, gloo) they finish, stop and fail the same way, seen through the same signals."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.engine import events as ev
from workbench.gui.training.controller import make_run

KINDS = {"thread": 1, "torchrun": 2}


@pytest.fixture(params=list(KINDS))
def processes(request, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return KINDS[request.param]


def _run(qtbot, config, processes, out, on_event=None):
    """Start a run, wait for ``ended``; returns (run, events, outcomes)."""
    run = make_run(config, processes, out=str(out))
    events, outcomes = [], []
    run.event.connect(events.append)
    if on_event is not None:
        run.event.connect(lambda e: on_event(run, e))
    run.ended.connect(outcomes.append)
    with qtbot.waitSignal(run.ended, timeout=240_000):
        run.start()
    assert run.wait(1_000)
    return run, events, outcomes


def test_a_run_finishes_with_its_summary(qtbot, fast_config, processes, tmp_path):
    fast_config.epochs = 1
    _run_obj, events, outcomes = _run(qtbot, fast_config, processes, tmp_path / "run")
    assert len(outcomes) == 1 and not outcomes[0].failed and outcomes[0].message is None
    summary = outcomes[0].summary
    assert summary["status"] == "finished" and summary.get("processes", 1) == processes
    kinds = [type(e) for e in events]
    assert ev.RunStart in kinds
    assert ev.EpochEnd in kinds and kinds[-1] is ev.RunEnd and ev.Error not in kinds


def test_request_stop_ends_the_run_as_stopped_and_keeps_the_checkpoints(qtbot, fast_config, processes,
                                                                        tmp_path):
    fast_config.epochs = 50
    fast_config.early_stopping = False

    def stop_after_first_epoch(run, event):
        if isinstance(event, ev.EpochEnd) and event.epoch == 1:
            run.request_stop()

    _r, events, outcomes = _run(qtbot, fast_config, processes, tmp_path / "run", stop_after_first_epoch)
    summary = outcomes[0].summary
    assert summary["status"] == "stopped" and summary["stopped_epoch"] < 50
    assert isinstance(events[-1], ev.RunEnd)
    checkpoints = Path(summary["run_dir"]) / "checkpoints"
    assert (checkpoints / "best.pt").exists() and (checkpoints / "last.pt").exists()


def test_a_batch_larger_than_the_set_fails_with_the_user_message_as_an_error_event(
        qtbot, fast_config, processes, tmp_path):
    fast_config.batch_size = 500
    fast_config.epochs = 1
    _r, events, outcomes = _run(qtbot, fast_config, processes, tmp_path / "run")
    errors = [e for e in events if isinstance(e, ev.Error)]
    assert len(errors) == 1 and errors[0] is events[-1]
    outcome = outcomes[0]
    assert outcome.failed and outcome.summary is None and outcome.error == errors[0]
    assert outcome.message.startswith("Batch size 500 is larger than the")
    assert "Traceback" not in outcome.message
