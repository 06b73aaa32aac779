"""Likely label errors: flipped labels rank high, from synthetic and from real out-of-fold
probabilities, and from one run's validation predictions (with its warning)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.audit import (
    RUN_WARNING,
    AuditError,
    ClassProbabilities,
    from_cross_validation,
    from_run,
    rank_label_issues,
    run_audit,
)
from workbench.config import TrainConfig


def test_deliberately_flipped_labels_are_ranked_first():
    """200 images of 4 classes scored by a decent model (Dirichlet, 10:1 for the true class), 20
    labels flipped to another class: cleanlab finds most of them, and ranks them first."""
    rng = np.random.default_rng(0)
    n, k = 200, 4
    truth = np.arange(n) % k
    alpha = np.ones((n, k))
    alpha[np.arange(n), truth] = 10
    probabilities = np.array([rng.dirichlet(a) for a in alpha])
    labels = truth.copy()
    flipped = set(rng.choice(n, 20, replace=False).tolist())
    for i in flipped:
        labels[i] = (truth[i] + rng.integers(1, k)) % k
    p = ClassProbabilities([f"img{i}.jpg" for i in range(n)], labels, probabilities,
                           ["a", "b", "c", "d"], "cross_validation", "study")
    issues, _notes = rank_label_issues(p)
    ranked = [int(issue["path"][3:-4]) for issue in issues]
    assert set(ranked[:10]) <= flipped  # the ten most likely errors are all flipped labels
    assert len(set(ranked) & flipped) >= 15
    first = issues[0]
    assert first["suggested_class"] == "abcd"[truth[ranked[0]]] != first["class"]
    assert first["given_probability"] < first["suggested_probability"]
    confidences = [issue["given_probability"] for issue in issues]
    assert confidences == sorted(confidences)  # least self-confident first


def test_probabilities_that_do_not_fit_are_refused():
    with pytest.raises(AuditError, match="do not match"):
        from_probabilities = ClassProbabilities(["a", "b"], np.array([0, 1]), np.ones((2, 3)), ["x", "y"],
                                                "run", "here")
        from workbench.audit.label_issues import _checked

        _checked(from_probabilities)


def test_a_real_cross_validation_study_ranks_a_flipped_image(planted, tmp_path):
    """End to end: 2 folds × 2 epochs of small_cnn at 32 px, its oof.npz, the audit."""
    from workbench.studies.cross_validation import cross_validate

    root, p = planted
    config = TrainConfig(data_dir=str(root), model="small_cnn", image_size=32, epochs=2, batch_size=8,
                         workers=1, seed=0, early_stopping=False)
    study = tmp_path / "cv"
    cross_validate(config, study, folds=2)
    probabilities = from_cross_validation(study)
    assert probabilities.source == "cross_validation" and probabilities.warning is None
    audit = run_audit(config, probabilities=probabilities)
    assert audit["label_check"]["checked"] == len(probabilities.paths) == audit["images"]
    ranks = [issue["rank"] for issue in audit["label_issues"]]
    assert ranks == list(range(1, len(ranks) + 1))
    confidences = [issue["given_probability"] for issue in audit["label_issues"]]
    assert confidences == sorted(confidences)
    in_folder = {f"{path}" for path in map(str, root.rglob("*.jpg"))}
    assert {issue["path"] for issue in audit["label_issues"]} <= in_folder
    with pytest.raises(AuditError, match="not a cross-validation study"):
        from_cross_validation(tmp_path)


def test_one_runs_validation_predictions_come_with_a_warning(trained_run):
    probabilities = from_run(trained_run)
    assert probabilities.source == "run" and probabilities.warning == RUN_WARNING
    config = TrainConfig.load_json(trained_run / "config.json")
    summary = json.loads((trained_run / "summary.json").read_text())
    assert len(probabilities.paths) == summary["n_val"]  # the validation split only
    assert np.allclose(probabilities.probabilities.sum(axis=1), 1)
    audit = run_audit(config, probabilities=probabilities)
    assert audit["label_check"]["warning"] == RUN_WARNING
    assert {issue["split"] for issue in audit["label_issues"]} <= {"val"}
