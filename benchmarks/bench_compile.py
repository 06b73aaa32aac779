"""Does torch.compile pay for itself within a typical run? Per registry model, on this machine.

For each model: a training step (forward, loss, backward, fused AdamW step) on random 64 px
batches of 32, eager and compiled with ``nn.Module.compile()`` (as the engine does it), and an
evaluation batch each way. The compile cost is the first compiled training step plus the first
compiled evaluation batch (train and eval mode compile separately) minus an eager step of each.
A *typical run* is 10 epochs of 800 training images (250 steps) and 200 validation images
(70 batches); compiling wins when its overhead is below the time it saves over that run.

    python benchmarks/bench_compile.py                       # small_cnn, mobilenet_v3_small, resnet18
    python benchmarks/bench_compile.py --models all --steps 20

Writes benchmarks/results/compile.json. The engine's ``compile_model = "auto"`` turns compiling on
only for the (model, device type) pairs listed in ``workbench/engine/compiling.py``, taken from
these measurements.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from workbench.config import TrainConfig  # noqa: E402
from workbench.engine.trainer import _make_optimizer  # noqa: E402
from workbench.models import MODEL_NAMES, build_model  # noqa: E402

RUN_STEPS, RUN_EVAL_BATCHES = 250, 70
RESULTS = Path(__file__).resolve().parent / "results" / "compile.json"


def measure(name: str, size: int, batch: int, steps: int, compiled: bool) -> dict:
    torch.manual_seed(0)
    model = build_model(name, 4, image_size=size, log=lambda _m: None)
    optimizer = _make_optimizer(model, TrainConfig(model=name, image_size=size))
    criterion = nn.CrossEntropyLoss()
    if compiled:
        model.compile()
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 4, (batch,))

    def train_step() -> float:
        model.train()
        started = time.perf_counter()
        loss = criterion(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return time.perf_counter() - started

    def eval_batch() -> float:
        model.eval()
        started = time.perf_counter()
        with torch.no_grad():
            model(x)
        return time.perf_counter() - started

    first_train, first_eval = train_step(), eval_batch()
    train = statistics.median(train_step() for _ in range(steps))
    evals = statistics.median(eval_batch() for _ in range(max(3, steps // 3)))
    return {"first_train_s": first_train, "first_eval_s": first_eval, "train_step_s": train,
            "eval_batch_s": evals}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="small_cnn,mobilenet_v3_small,resnet18",
                        help="comma-separated registry names, or 'all'")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per mode (10)")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    names = MODEL_NAMES if args.models == "all" else tuple(args.models.split(","))
    rows = []
    print(f"{'model':<20} {'eager step':>10} {'compiled':>9} {'compile s':>9} {'saved/run s':>11}  wins?")
    for name in names:
        eager = measure(name, args.image_size, args.batch_size, args.steps, compiled=False)
        try:
            fast = measure(name, args.image_size, args.batch_size, args.steps, compiled=True)
        except Exception as exc:  # noqa: BLE001 — a model that does not compile is a result too
            rows.append({"model": name, "eager": eager, "error": f"{exc.__class__.__name__}: {exc}"})
            print(f"{name:<20} {eager['train_step_s'] * 1e3:8.1f}ms  does not compile: "
                  f"{exc.__class__.__name__}")
            continue
        overhead = ((fast["first_train_s"] - eager["train_step_s"])
                    + (fast["first_eval_s"] - eager["eval_batch_s"]))
        saved = (RUN_STEPS * (eager["train_step_s"] - fast["train_step_s"])
                 + RUN_EVAL_BATCHES * (eager["eval_batch_s"] - fast["eval_batch_s"]))
        wins = saved > overhead
        rows.append({"model": name, "eager": eager, "compiled": fast, "compile_overhead_s": overhead,
                     "saved_per_typical_run_s": saved, "wins": wins})
        print(f"{name:<20} {eager['train_step_s'] * 1e3:8.1f}ms {fast['train_step_s'] * 1e3:7.1f}ms "
              f"{overhead:9.1f} {saved:11.1f}  {'yes' if wins else 'no'}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"device": "cpu", "torch": torch.__version__,
                                     "threads": torch.get_num_threads(), "args": vars(args) | {
                                         "json": str(args.json)}, "rows": rows}, indent=2) + "\n")
    print(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
