"""The Qt-free study sessions: a cross-validation's ETA, the pace a study's time is estimated at,
a search's trials as its events tell them."""

from workbench.engine import events as ev
from workbench.study_session import CrossValidationSession, Pace, SearchSession, SweepSession


def _start(epochs=3, n_train=80, n_val=20, history=()):
    return ev.RunStart(run_dir="r", model="small_cnn", class_names=["a", "b"], n_train=n_train, n_val=n_val,
                       epochs=epochs, batch_size=4, iterations_per_epoch=20, start_epoch=1, device="cpu",
                       device_name="CPU", cached=True, parameters=10, history=list(history))


def _epoch(epoch, seconds):
    return ev.EpochEnd(epoch=epoch, train_loss=1.0, train_acc=0.5, val_loss=1.0, val_acc=0.5, lr=1e-3,
                       seconds=seconds, images_per_sec=10.0, best_epoch=epoch, epochs=3)


def test_pace_scales_the_last_run_to_the_study():
    pace = Pace.of_run(_start(), [{"epoch": 1, "seconds": 2.0}, {"epoch": 2, "seconds": 4.0}], 32)
    assert pace.seconds_per_image == 3.0 / 100
    assert pace.study_seconds(images=200, folds=5, epochs=10) == 0.03 * 200 * 10 * 5


def test_the_study_eta_counts_the_folds_and_epochs_left_and_ignores_other_runs():
    clock = [0.0]
    session = CrossValidationSession(clock=lambda: clock[0])
    session.handle(_epoch(1, 2.0))  # an ordinary run before any study: not the study's
    assert session.eta() is None
    session.begin(folds=2, epochs=3, out="cv")
    session.handle(ev.FoldStart(fold=1, folds=2, run_dir="cv/fold-1"))
    session.handle(_start())
    assert session.eta() is None  # before the first epoch
    session.handle(_epoch(1, 2.0))
    assert session.eta() == (2 + 3) * 2.0  # 2 epochs of fold 1 and 3 of fold 2 at 2 s
    session.handle(ev.FoldEnd(fold=1, folds=2, run_dir="cv/fold-1", status="finished",
                              history=[{"epoch": 1}]))
    session.handle(ev.StudyEnd(summary={"fold_runs": []}))
    assert not session.running and session.eta() is None and session.finished_folds == [1]


def test_the_sweep_session_keeps_the_points_and_the_result():
    session = SweepSession()
    session.handle(ev.BatchEnd(epoch=1, iteration=1, iterations=10, loss=2.0, lr=1e-5, images_per_sec=1.0))
    result = {"lrs": [1e-5], "losses": [2.0], "raw_losses": [2.0], "suggested_lr": None, "rule": "",
              "alternatives": {}, "stop_reason": "x", "message": "too few", "out": "o"}
    session.handle(ev.LRFindEnd(result=result))
    assert session.lrs == [1e-5] and session.result.message == "too few"


def test_the_search_session_keeps_one_row_per_trial_from_the_event_stream():
    session = SearchSession()
    session.handle(ev.TrialStart(number=9, params={}, run_dir="x"))  # no search begun: ignored
    assert session.rows() == []
    session.begin(trials=3, epochs=3, out="s")
    earlier = {"number": 0, "state": "fail", "value": None, "params": {"lr": 0.1}, "run_dir": "s/trial-0000",
               "error": "batch size 64 is larger than the 40 training images", "epochs": 0, "seconds": 0.5}
    session.handle(ev.SearchStart(out="s", trials=3, monitor="val_accuracy", direction="maximize",
                                  config={"epochs": 3, "model": "small_cnn"}, storage="sqlite:///s/study.db",
                                  earlier=[earlier]))
    assert [(r["number"], r["state"]) for r in session.rows()] == [(0, "failed")]  # Optuna's "fail"
    session.handle(ev.TrialStart(number=1, params={"lr": 0.01}, run_dir="s/trial-0001"))
    session.handle(_start())
    assert session.eta() is None  # before the first epoch
    session.handle(_epoch(1, 2.0))
    row = session.rows()[1]
    assert (row["state"], row["epochs"], row["seconds"]) == ("running", 1, 2.0)
    assert session.eta() == (3 * 3 - 1) * 2.0  # three trials of three epochs, one epoch done
    for number, value, state in ((1, 0.5, "complete"), (2, None, "pruned"), (3, 0.75, "complete")):
        session.handle(ev.TrialEnd(number=number, state=state, value=value, params={"lr": 0.01},
                                   run_dir=f"s/trial-{number:04d}", epochs=3 if value else 1, seconds=6.0))
    assert [r["state"] for r in session.rows()] == ["failed", "complete", "pruned", "complete"]
    assert session.best()["number"] == 3  # accuracy: the higher value
    assert session.history_points() == ([1, 3], [0.5, 0.75], [0.5, 0.75])
    config = session.best_config()
    assert (config.model, config.lr, config.epochs) == ("small_cnn", 0.01, 3)
    session.handle(ev.StudyEnd(summary={"trials_asked": 3, "complete": 2, "pruned": 1, "failed": 1,
                                        "trials": []}))
    assert not session.running and session.eta() is None and not session.resumable()


def test_a_stopped_search_is_resumable_and_a_failure_marks_the_running_trial():
    session = SearchSession()
    session.begin(trials=4, epochs=2, out="s")
    session.handle(ev.TrialStart(number=0, params={}, run_dir="s/trial-0000"))
    session.handle(ev.TrialEnd(number=0, state="stopped", value=None, params={}, run_dir="s/trial-0000",
                               epochs=1, seconds=1.0))
    session.handle(ev.StudyEnd(summary={"trials_asked": 4, "complete": 0, "pruned": 0, "failed": 0,
                                        "trials": [{"number": 0, "state": "stopped", "epochs": 1}]}))
    assert session.resumable() and session.rows()[0]["state"] == "stopped"
    session.begin(trials=4, epochs=2, out="s")
    session.handle(ev.TrialStart(number=1, params={}, run_dir="s/trial-0001"))
    session.handle(ev.Error(message="disk full", type="OSError"))
    assert session.rows()[0]["state"] == "failed" and session.rows()[0]["error"] == "disk full"
