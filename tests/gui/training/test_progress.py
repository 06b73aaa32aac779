"""The progress panel draws what the session works out: elapsed time, ETA, bars."""

from __future__ import annotations

from workbench.engine import events as ev
from workbench.gui.training.progress import ProgressPanel
from workbench.session import TrainingSession


def _start(epochs=2, iterations=10) -> ev.RunStart:
    return ev.RunStart(run_dir="/r", model="small_cnn", class_names=["a", "b"], n_train=80, n_val=20,
                       epochs=epochs, batch_size=8, iterations_per_epoch=iterations, start_epoch=1,
                       device="cpu", device_name="CPU", cached=True, parameters=10)


def _batch(i) -> ev.BatchEnd:
    return ev.BatchEnd(epoch=1, iteration=i, iterations=10, loss=1.0, lr=0.1, images_per_sec=100.0)


def _panel(qtbot):
    """A panel on a session whose clock the test sets (``now[0]``), after a run started."""
    now = [0.0]
    session = TrainingSession(clock=lambda: now[0])
    panel = ProgressPanel(session)
    qtbot.addWidget(panel)
    session.handle(_start())
    return panel, session, now


def test_the_eta_is_shown_while_training_and_cleared_when_the_run_ends(qtbot):
    panel, session, now = _panel(qtbot)
    for i in range(1, 6):
        now[0] += 1.0
        session.handle(_batch(i))
    panel.show_latest()
    assert panel.eta.text() == "0:00:15"  # 5 steps in 5 s, 15 left
    assert panel.elapsed.text() == "0:00:05"
    assert panel.iteration_bar.value() == 5 and panel.speed.text() == "100 images/s"
    session.handle(ev.RunEnd(summary={"status": "stopped", "run_dir": "/r"}))
    assert panel.eta.text() == "–" and panel.elapsed.text() == "0:00:05"
    panel.show_latest()  # a redraw after the end (the tab's timer) keeps it cleared
    assert panel.eta.text() == "–"


def test_a_failed_run_clears_the_eta_too(qtbot):
    panel, session, now = _panel(qtbot)
    now[0] = 2.0
    session.handle(_batch(1))
    panel.show_latest()
    assert panel.eta.text() != "–"
    session.handle(ev.Error(message="disk full", type="OSError"))
    assert panel.eta.text() == "–"
    session.reset()
    assert panel.elapsed.text() == "–" and panel.epoch_bar.format() == "–"
