"""How many epochs, which learning rate, how sure: the figures of the "How many epochs?" issue,
measured side by side in one run on the bundled sample data (or DATA).

1. the learning-rate finder's suggestion, and 10 epochs at that rate against the default 1e-3
   (validation accuracy of the best epoch; early stopping off, so both train all 10);
2. a 5-fold cross-validation (full epoch budget, test fraction 0.2): the recommended epochs, and
   the final model trained on every non-test image for exactly that many epochs: its test accuracy;
3. the study's wall time ÷ (5 × one run of the same settings), which decoding the images once for
   all folds should keep below 5.

    python benchmarks/bench_how_many_epochs.py [DATA] [--epochs 10] [--folds 5] [--out results/x.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

from workbench.config import TrainConfig
from workbench.engine.trainer import Trainer
from workbench.studies.cross_validation import CrossValidation, describe
from workbench.studies.lr_find import find_learning_rate


def _train(config: TrainConfig, out: Path) -> tuple[dict, float]:
    started = time.perf_counter()
    summary = Trainer(config, out=out).run()
    return summary, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    base = TrainConfig(data_dir=args.data, epochs=args.epochs, early_stopping=False)
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="workbench-epochs-") as tmp:
        tmp = Path(tmp)
        sweep = find_learning_rate(base, tmp / "lr-find")
        figures["lr_find"] = {"suggested_lr": sweep.suggested_lr, "rule": sweep.rule,
                              "alternatives": sweep.alternatives, "steps": len(sweep.lrs)}
        print(sweep.describe(), file=sys.stderr)
        for name, lr in (("default_lr", base.lr), ("suggested_lr", sweep.suggested_lr)):
            if lr is None:
                continue
            summary, _ = _train(dataclasses.replace(base, lr=lr), tmp / name)
            figures[name] = {"lr": lr, "best_val_acc": summary["best_metrics"]["val_acc"],
                             "best_epoch": summary["best_epoch"]}

        study_config = dataclasses.replace(base, test_fraction=0.2)
        one, one_seconds = _train(study_config, tmp / "one-run")
        started = time.perf_counter()
        cv = CrossValidation(study_config, tmp / "cv", folds=args.folds).run()
        study_seconds = time.perf_counter() - started
        figures["cv"] = {"recommended_epochs": cv.get("recommended_epochs"), "sentence": describe(cv),
                         "lowest_loss_epoch": cv.get("lowest_loss_epoch"), "study_seconds": study_seconds,
                         "one_run_seconds": one_seconds,
                         "study_over_folds_runs": study_seconds / (args.folds * one_seconds)}
        final_config = dataclasses.replace(study_config, val_fraction=0.0,
                                           epochs=cv.get("recommended_epochs") or args.epochs)
        final, _ = _train(final_config, tmp / "final")
        figures["final_model"] = {"epochs": final_config.epochs, "test_accuracy": final["test"]["accuracy"],
                                  "test_images": final["test"]["n"], "n_train": final["n_train"]}
        figures["one_run_test_accuracy"] = one["test"]["accuracy"]
    print(json.dumps(figures, indent=2))
    lr = figures["lr_find"]
    print(f"\nLR finder: {lr['suggested_lr']} ({lr['rule']}, {lr['steps']} steps)")
    for name in ("default_lr", "suggested_lr"):
        if name in figures:
            f = figures[name]
            print(f"  10 epochs at lr {f['lr']:.2g}: best validation accuracy {f['best_val_acc']:.1%} "
                  f"(epoch {f['best_epoch']})")
    c = figures["cv"]
    print(f"CV: {c['sentence']}")
    print(f"  study {c['study_seconds']:.1f} s ÷ ({args.folds} × one run {c['one_run_seconds']:.1f} s) = "
          f"{c['study_over_folds_runs']:.2f} (target < 5)")
    f = figures["final_model"]
    print(f"Final model ({f['epochs']} epochs on {f['n_train']} images): test accuracy "
          f"{f['test_accuracy']:.1%} on {f['test_images']} test images")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
