"""Does pruning save time without losing the best? Two searches of N trials on the same data,
side by side in one run: the median pruner against none, same sampler seed, same space.

    python benchmarks/bench_search.py [DATA] [--trials 12] [--epochs 8] [--out results/search.json]

Prints each search's wall time, best value and trial counts, and the ratios between them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from workbench.config import TrainConfig
from workbench.studies.search import Search


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=None)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    config = TrainConfig(data_dir=args.data, epochs=args.epochs, early_stopping=False)
    figures = {}
    with tempfile.TemporaryDirectory(prefix="workbench-search-") as tmp:
        for pruner in ("none", "median"):
            started = time.perf_counter()
            summary = Search(config, Path(tmp) / pruner, args.trials, sampler="tpe", pruner=pruner).run()
            figures[pruner] = {"seconds": time.perf_counter() - started,
                               "best_value": summary["best"]["value"] if summary["best"] else None,
                               "complete": summary["complete"], "pruned": summary["pruned"],
                               "failed": summary["failed"],
                               "epochs_trained": sum(_epochs(t) for t in summary["trials"])}
    none, median = figures["none"], figures["median"]
    print(json.dumps(figures, indent=2))
    print(f"\n{args.trials} trials × {args.epochs} epochs, TPE, monitor val_loss")
    for name, f in figures.items():
        print(f"  pruner {name:6}: {f['seconds']:7.1f} s, best val_loss {f['best_value']:.4f}, "
              f"{f['complete']} complete / {f['pruned']} pruned / {f['failed']} failed, "
              f"{f['epochs_trained']} epochs trained")
    print(f"  median ÷ none: time {median['seconds'] / none['seconds']:.2f}, "
          f"best value {median['best_value'] / none['best_value']:.3f} (≤ 1: as good or better)")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def _epochs(trial: dict) -> int:
    run = trial.get("run_dir")
    if not run or not (Path(run) / "metrics.csv").exists():
        return 0
    return max(0, len((Path(run) / "metrics.csv").read_text().splitlines()) - 1)


if __name__ == "__main__":
    raise SystemExit(main())
