#!/usr/bin/env python
"""What DistributedDataParallel costs: the same training as one plain process and under
``torchrun --nproc_per_node=1`` (DDP on one GPU), and optionally on N GPUs.

Each variant is a real ``workbench train`` command line; runs alternate round after round so load
from elsewhere hits them alike. Throughput is the median training images/s of the epochs after the
first (``images_per_sec`` of the epoch_end events, summed over processes). Prints the DDP ÷ plain
ratio (1.00 = no overhead) and, with ``--gpus N``, the scaling of N GPUs over one.

    python benchmarks/bench_ddp.py [--data DIR] [--model resnet18] [--image-size 128]
                                   [--batch-size 64] [--epochs 4] [--rounds 2] [--gpus N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from workbench.engine.events import EpochEnd


def run(variant: str, processes: int, args, workdir: Path) -> float:
    events = workdir / f"{variant}.jsonl"
    train = ["-m", "workbench", "train", *([args.data] if args.data else []), "--model", args.model,
             "--image-size", str(args.image_size), "--batch-size", str(args.batch_size),
             "--epochs", str(args.epochs), "--no-early-stopping", "--quiet",
             "--runs-dir", str(workdir / "runs"), "--events-jsonl", str(events)]
    launcher = [] if variant == "plain" else ["-m", "torch.distributed.run", "--standalone",
                                              f"--nproc_per_node={processes}"]
    # torchrun puts one CPU thread per process unless told otherwise; give every variant the same.
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count()))}
    subprocess.run([sys.executable, *launcher, *train], check=True, env=env, stdout=subprocess.DEVNULL)
    epochs = [e for e in map(json.loads, events.read_text().splitlines()) if e["event"] == EpochEnd.kind]
    return statistics.median(e["images_per_sec"] for e in epochs[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="image folder (default: the bundled sample data)")
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--gpus", type=int, default=0, help="also run on this many GPUs")
    args = parser.parse_args()
    variants = [("plain", 1), ("ddp1", 1)] + ([(f"ddp{args.gpus}", args.gpus)] if args.gpus > 1 else [])
    results: dict[str, list[float]] = {name: [] for name, _ in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for name, processes in variants:
                results[name].append(run(name, processes, args, Path(tmp) / f"{name}-{round_}"))
                print(f"round {round_ + 1} {name}: {results[name][-1]:.0f} img/s", flush=True)
    best = {name: max(values) for name, values in results.items()}
    print(json.dumps({"images_per_sec": best, "rounds": results}, indent=2))
    print(f"DDP on 1 process ÷ plain process: {best['ddp1'] / best['plain']:.3f}")
    if args.gpus > 1:
        print(f"{args.gpus} GPUs ÷ 1 GPU (DDP): {best[f'ddp{args.gpus}'] / best['ddp1']:.2f}")


if __name__ == "__main__":
    main()
