#!/usr/bin/env python
"""What TensorBoard logging and end-of-run calibration cost a run.

The same short training (in this process, the bundled sample data by default) with
``tensorboard`` on and off, alternating round after round so load from elsewhere hits both alike.
Prints the median wall time of each and the ratio (1.00 = free; noisy on a shared machine), the
time spent inside the TensorBoard callback's hooks (the direct cost, import included), and how
long temperature scaling (``TemperatureScaling.on_run_end``: fitting, and rewriting
best.pt/last.pt) took, each as a share of the run.

    python benchmarks/bench_run_extras.py [--data DIR] [--model small_cnn] [--image-size 32]
                                          [--epochs 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from workbench.config import TrainConfig
from workbench.engine.callbacks.calibration import TemperatureScaling
from workbench.engine.callbacks.tensorboard import TensorBoardLogger
from workbench.engine.trainer import Trainer
from workbench.resources_path import sample_data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(sample_data_dir()))
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    calibration_seconds: list[float] = []
    real = TemperatureScaling.on_run_end

    def timed(self, run):
        started = time.perf_counter()
        real(self, run)
        calibration_seconds.append(time.perf_counter() - started)

    TemperatureScaling.on_run_end = timed
    hook_seconds = [0.0]
    real_safely = TensorBoardLogger._safely

    def timed_safely(self, run, fn, *args):
        started = time.perf_counter()
        real_safely(self, run, fn, *args)
        hook_seconds[0] += time.perf_counter() - started

    TensorBoardLogger._safely = timed_safely
    seconds: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            for tensorboard in (True, False) if i % 2 == 0 else (False, True):
                config = TrainConfig(data_dir=args.data, model=args.model, image_size=args.image_size,
                                     epochs=args.epochs, early_stopping=False, tensorboard=tensorboard,
                                     seed=i)
                started = time.perf_counter()
                Trainer(config, out=Path(tmp) / f"run-{i}-{tensorboard}").run()
                seconds[tensorboard].append(time.perf_counter() - started)
    on, off = statistics.median(seconds[True]), statistics.median(seconds[False])
    calibration = statistics.median(calibration_seconds)
    print(f"{args.model}, {args.image_size} px, {args.epochs} epochs, {args.rounds} rounds")
    print(f"run with TensorBoard    {on:7.2f} s (median)")
    print(f"run without TensorBoard {off:7.2f} s (median)")
    print(f"ratio with / without    {on / off:7.3f}")
    in_hooks = hook_seconds[0] / args.rounds
    print(f"in TensorBoard hooks    {in_hooks:7.3f} s per run ({in_hooks / off:.1%} of a run)")
    print(f"temperature scaling     {calibration:7.3f} s per run ({calibration / off:.1%} of a run)")


if __name__ == "__main__":
    main()
