"""The Qt-free study sessions: a cross-validation's ETA and the pace a study's time is estimated at."""

from workbench.engine import events as ev
from workbench.study_session import CrossValidationSession, Pace, SweepSession


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
