"""Temperature scaling: the fit, the expected calibration error, and what a real run records."""

from __future__ import annotations

import pytest
import torch

from workbench.config import TrainConfig
from workbench.data.prepare import split_samples
from workbench.data.scan import scan_image_folder
from workbench.engine.calibration import (
    calibration_report,
    expected_calibration_error,
    fit_temperature,
    nll,
    reliability_bins,
)
from workbench.engine.checkpoint import load_checkpoint
from workbench.predict import Predictor
from workbench.runs import read_json_object


def _over_confident(n: int = 400, classes: int = 4, seed: int = 0):
    """Right ~70 % of the time, but with logits that say ~99 %: a textbook over-confident model."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(classes, (n,), generator=g)
    predicted = torch.where(torch.rand(n, generator=g) < 0.6, labels,
                            torch.randint(classes, (n,), generator=g))
    logits = torch.randn(n, classes, generator=g) * 0.5
    logits[torch.arange(n), predicted] += 6.0
    return logits, labels


def test_fitting_the_temperature_lowers_the_nll_of_over_confident_logits():
    logits, labels = _over_confident()
    temperature = fit_temperature(logits, labels)
    assert temperature > 2  # over-confidence is cooled down
    assert nll(logits, labels, temperature) < 0.8 * nll(logits, labels)
    # The fitted T is the minimum: a little either way is worse.
    for other in (temperature * 0.9, temperature * 1.1):
        assert nll(logits, labels, other) > nll(logits, labels, temperature)
    before = expected_calibration_error(torch.softmax(logits, 1), labels)
    after = expected_calibration_error(torch.softmax(logits / temperature, 1), labels)
    assert before > 0.25 and after < 0.1  # ~70 % right, ~99 % sure: ECE ≈ 0.29


def test_under_confident_logits_get_a_temperature_below_one():
    logits, labels = _over_confident()
    temperature = fit_temperature(logits / 20, labels)  # the same ranking, far too timid
    assert temperature < 0.2
    assert nll(logits / 20, labels, temperature) < nll(logits / 20, labels)


def test_uninformative_logits_keep_temperature_one():
    labels = torch.tensor([0, 1, 0, 1])
    assert fit_temperature(torch.zeros(4, 2), labels) == 1.0  # no temperature changes anything
    assert fit_temperature(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)) == 1.0


def test_ece_and_reliability_bins_match_a_hand_computation():
    # Confidences 0.92 (right), 0.95 (right), 0.83 (wrong), 0.67 (right), 0.55 (wrong).
    probabilities = torch.tensor([[0.92, 0.08], [0.05, 0.95], [0.83, 0.17], [0.33, 0.67], [0.45, 0.55]])
    labels = torch.tensor([0, 1, 1, 1, 0])
    rows = reliability_bins(probabilities, labels, bins=10)
    assert [r["count"] for r in rows] == [0, 0, 0, 0, 0, 1, 1, 0, 1, 2]
    assert rows[9]["confidence"] == pytest.approx(0.935) and rows[9]["accuracy"] == 1.0
    assert rows[8]["accuracy"] == 0.0 and rows[5]["confidence"] == pytest.approx(0.55)
    assert rows[0]["confidence"] is None and rows[0]["accuracy"] is None
    # (2·|1 − 0.935| + |0 − 0.83| + |1 − 0.67| + |0 − 0.55|) / 5
    assert expected_calibration_error(probabilities, labels, bins=10) == pytest.approx(0.368)
    # A confidence on a bin edge (exactly 0.5) belongs to the bin below it: (0.4, 0.5].
    edge = reliability_bins(torch.tensor([[0.5, 0.5]]), torch.tensor([0]), bins=10)
    assert edge[4]["count"] == 1


def test_calibration_report_is_plain_numbers():
    logits, labels = _over_confident(n=100)
    report = calibration_report(logits, labels)
    assert report["images"] == 100 and report["bins"] == 10
    assert report["nll_after"] < report["nll_before"] and report["ece_after"] < report["ece_before"]
    assert sum(r["count"] for r in report["reliability_after"]) == 100
    assert all(isinstance(report[k], float) for k in ("temperature", "nll_before", "ece_after"))


def test_a_real_run_records_its_calibration_and_stores_the_temperature(trained_run, tiny_data):
    summary = read_json_object(trained_run / "summary.json")[0]
    calibration = summary["calibration"]
    assert calibration["checkpoint"] == "best" and calibration["epoch"] == summary["best_epoch"]
    assert calibration["nll_after"] < calibration["nll_before"]  # the fit lowered the validation NLL
    assert calibration["temperature"] != 1.0
    for which in ("best", "last"):
        stored = load_checkpoint(trained_run / "checkpoints" / f"{which}.pt")
        if stored["epoch"] == calibration["epoch"]:
            assert stored["calibration"]["temperature"] == calibration["temperature"]
        assert stored["calibration"]["nll_after"] <= stored["calibration"]["nll_before"]
    # Recomputed independently from the best weights on the validation images.
    config = TrainConfig.load_json(trained_run / "config.json")
    _, val = split_samples(scan_image_folder(str(tiny_data), config.max_image_megapixels), config)
    predictor = Predictor.load(trained_run)
    logits = torch.from_numpy(predictor.logits([predictor.read_image(p) for p, _ in val]))
    labels = torch.tensor([label for _, label in val])
    assert len(val) == calibration["images"]
    assert nll(logits, labels) == pytest.approx(calibration["nll_before"], abs=1e-4)
    temperature = calibration["temperature"]
    assert nll(logits, labels, temperature) == pytest.approx(calibration["nll_after"], abs=1e-4)
    after = expected_calibration_error(torch.softmax(logits.double() / calibration["temperature"], 1), labels)
    assert after == pytest.approx(calibration["ece_after"], abs=1e-4)
    log = (trained_run / "train.log").read_text()
    assert "Calibration (best checkpoint, temperature scaling on" in log


@pytest.mark.parametrize("restore_best", [True, False])
def test_each_checkpoint_gets_the_temperature_of_its_own_weights(fast_config, tmp_path, tiny_data,
                                                                 restore_best):
    from workbench.engine.trainer import Trainer

    # A min_delta nothing can beat: best.pt stays epoch 1 while last.pt moves on. The final report
    # scores the best weights (restore_best) or the last ones; the other checkpoint is scored again.
    config = TrainConfig.from_dict({**fast_config.to_dict(), "epochs": 2, "min_delta": 100.0,
                                    "restore_best_weights": restore_best, "early_stopping": False,
                                    "tensorboard": False})
    run = tmp_path / "run"
    summary = Trainer(config, out=run).run()
    best = load_checkpoint(run / "checkpoints" / "best.pt")
    last = load_checkpoint(run / "checkpoints" / "last.pt")
    assert (best["epoch"], last["epoch"]) == (1, 2)
    assert summary["calibration"]["epoch"] == 1 and summary["calibration"]["checkpoint"] == "best"
    assert best["calibration"]["temperature"] == summary["calibration"]["temperature"]
    assert best["calibration"]["nll_before"] != last["calibration"]["nll_before"]
    _, val = split_samples(scan_image_folder(str(tiny_data), config.max_image_megapixels), config)
    labels = torch.tensor([label for _, label in val])
    for which, state in (("best", best), ("last", last)):  # each from its own weights
        predictor = Predictor.load(run, checkpoint=which)
        logits = torch.from_numpy(predictor.logits([predictor.read_image(p) for p, _ in val]))
        assert nll(logits, labels) == pytest.approx(state["calibration"]["nll_before"], abs=1e-4)
        assert predictor.temperature == state["calibration"]["temperature"]


def test_a_run_without_validation_images_is_not_calibrated(fast_config, tmp_path):
    from workbench.engine.trainer import Trainer

    config = TrainConfig.from_dict({**fast_config.to_dict(), "epochs": 1, "val_fraction": 0.0,
                                    "early_stopping": False, "tensorboard": False})
    summary = Trainer(config, out=tmp_path / "run").run()
    assert "calibration" not in summary
    assert "calibration" not in load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    assert Predictor.load(tmp_path / "run").temperature == 1.0
