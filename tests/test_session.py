"""The Qt-free session model: iteration arithmetic, ETA, best and stop epochs, from events."""

from workbench.engine import events as ev
from workbench.session import TrainingSession, format_duration


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _start(**kw):
    base = dict(run_dir="/r", model="small_cnn", class_names=["a", "b"], n_train=40, n_val=10, epochs=3,
                batch_size=10, iterations_per_epoch=4, start_epoch=1, device="cpu", device_name="CPU",
                cached=True, parameters=10)
    return ev.RunStart(**{**base, **kw})


def _batch(epoch, i):
    return ev.BatchEnd(epoch=epoch, iteration=i, iterations=4, loss=1.0, lr=0.1, images_per_sec=5.0)


def _epoch(epoch, best):
    return ev.EpochEnd(epoch=epoch, train_loss=1, train_acc=0.5, val_loss=1, val_acc=0.5, lr=0.1,
                       seconds=1, images_per_sec=5, best_epoch=best, epochs=3)


def test_eta_is_the_pace_so_far_times_the_steps_left_and_clears_at_the_end():
    clock = Clock()
    session = TrainingSession(clock)
    seen = []
    session.signals.batch.connect(lambda it, b: seen.append(it))
    session.handle(_start())
    assert session.eta() is None  # no step yet
    for i in (1, 2):
        clock.now += 1.0
        session.handle(_batch(1, i))
    assert session.iterations_left == 10 and session.eta() == 10.0  # 1 s a step
    assert seen == [1, 2]
    session.handle(ev.RunEnd(summary={"status": "stopped", "best_epoch": None}))
    assert session.eta() is None and not session.running
    clock.now += 50
    assert session.elapsed() == 2.0  # frozen at the end


def test_a_resumed_run_counts_iterations_from_its_first_epoch_but_its_pace_from_now():
    clock = Clock()
    session = TrainingSession(clock)
    session.handle(_start(start_epoch=3, history=[{"epoch": 1}, {"epoch": 2}]))
    clock.now += 2.0
    session.handle(_batch(3, 1))
    assert session.global_iteration == 9 and session.iterations_done == 1
    assert session.iterations_left == 3 and session.eta() == 6.0
    assert [h["epoch"] for h in session.history] == [1, 2]


def test_best_and_early_stop_epochs_and_reset():
    session = TrainingSession(Clock())
    best = []
    session.signals.best.connect(best.append)
    session.handle(_start())
    session.handle(_epoch(1, 1))
    session.handle(_epoch(2, 1))
    session.handle(_epoch(3, 3))
    session.handle(ev.EarlyStop(epoch=3, reason="val_loss did not improve"))
    assert best == [1, 3] and session.best_epoch == 3 and session.stopped_epoch == 3
    assert [h["epoch"] for h in session.history] == [1, 2, 3] and "best_epoch" not in session.history[0]
    resets = []
    session.signals.reset.connect(lambda: resets.append(1))
    session.reset()
    assert resets == [1] and session.history == [] and session.best_epoch is None


def test_an_error_ends_the_session_and_is_kept():
    session = TrainingSession(Clock())
    failed = []
    session.signals.failed.connect(failed.append)
    session.handle(_start())
    error = ev.Error(message="Out of memory", type="RuntimeError", reason="oom", cli_hint="h",
                     details={"batch_size": 8})
    session.handle(error)
    assert failed == [error] and session.error is error and not session.running


def test_events_round_trip_through_json_lines():
    import io
    import json

    buf = io.StringIO()
    writer = ev.JsonLinesWriter(buf)
    sent = [_start(), _batch(1, 1), _epoch(1, 1), ev.RunEnd(summary={"status": "finished", "x": [1]}),
            ev.Error(message="m", type="T"),
            ev.Error(message="m", type="T", reason="oom", cli_hint="h", details={"batch_size": 8})]
    for e in sent:
        writer(e)
    lines = buf.getvalue().splitlines()
    assert json.loads(lines[3]) == {"event": "run_end", "status": "finished", "x": [1]}
    assert [ev.parse_event_line(line) for line in lines] == sent
    assert ev.parse_event_line("not json") is None and ev.parse_event_line('{"event": "nope"}') is None
    assert ev.parse_event_line('{"event": "batch_end", "epoch": 1}') is None  # fields missing


def test_format_duration():
    assert format_duration(3725.9) == "1:02:05" and format_duration(None) == "–"
    assert format_duration(float("inf")) == "–"
