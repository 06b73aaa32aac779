#!/usr/bin/env python
"""Where one engine epoch spends its CPU time: torch.profiler over a later epoch of a real run.

Trains with the engine (same data, augmentation and settings as ``bench_epoch.py``) and profiles
one epoch after the first (training, validation and the checkpoint serialisation at its end).
Prints the share of the epoch's wall time in each part of the engine (input pipeline,
augmentation, model forward/backward, optimizer, validation, checkpoint) and the top operators
by self CPU time.

    python benchmarks/profile_epoch.py [--model resnet18] [--size 64] [--epochs 2] [--rows 15]

The parts are ``record_function`` ranges put around the engine's methods by this script (the
engine itself is not changed); forward and backward are what is left of the training batches.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_epoch  # noqa: E402  (the benchmark's dataset and engine settings)

from workbench.data.augment import BatchAugmenter  # noqa: E402
from workbench.data.loader import CachedImages  # noqa: E402
from workbench.engine import checkpoint, trainer  # noqa: E402
from workbench.engine import events as ev  # noqa: E402

PARTS = {
    "batch gather (uint8 cache index_select)": "wb::batch_gather",
    "augmentation + normalisation (train)": "wb::augment",
    "optimizer step": "Optimizer.step",
    "validation (whole pass)": "wb::validation",
    "checkpoint serialisation (training thread)": "wb::checkpoint_serialise",
    "batch_end events (loss read-back)": "wb::flush",
}


def _wrap(owner, name: str, label: str) -> None:
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        with record_function(label):
            return original(*args, **kwargs)

    setattr(owner, name, wrapped)


def _wrap_generator(owner, name: str, label: str) -> None:
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        it = original(*args, **kwargs)
        while True:
            with record_function(label):
                try:
                    item = next(it)
                except StopIteration:
                    return
            yield item

    setattr(owner, name, wrapped)


def instrument() -> None:
    original_call = BatchAugmenter.__call__

    def augment(self, images, generator=None, train=True):
        with record_function("wb::augment" if train else "wb::eval_normalise"):
            return original_call(self, images, generator, train)

    BatchAugmenter.__call__ = augment
    _wrap_generator(CachedImages, "batches", "wb::batch_gather")
    _wrap(trainer.Trainer, "_flush", "wb::flush")
    _wrap(trainer.Trainer, "evaluate", "wb::validation")
    _wrap(checkpoint, "serialise_checkpoint", "wb::checkpoint_serialise")


def part_of(event) -> str | None:
    for title, prefix in PARTS.items():
        if event.name.startswith(prefix):
            return title
    return None


def part_totals(events) -> dict[str, float]:
    """CPU microseconds of each part, counting a range only outside the other parts (the batch
    gather and normalisation inside validation belong to validation)."""
    totals = dict.fromkeys(PARTS, 0.0)
    for event in events:
        title = part_of(event)
        if title is None:
            continue
        parent = event.cpu_parent
        while parent is not None and part_of(parent) is None:
            parent = parent.cpu_parent
        if parent is None:
            totals[title] += event.cpu_time_total
    return totals


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="resnet18")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2, help="the last one is profiled")
    p.add_argument("--images", type=int, default=1000)
    p.add_argument("--rows", type=int, default=15)
    p.add_argument("--threads", type=int)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data_dir = bench_epoch.dataset_dir(args.images)
    instrument()
    bench_args = argparse.Namespace(epochs=args.epochs, batch_size=32, device="cpu", workers=2)
    cfg = bench_epoch.engine_config(args.model, args.size, data_dir, bench_args)
    prof = profile(activities=[ProfilerActivity.CPU])
    marks: dict[str, float] = {}

    def on_event(event) -> None:
        if isinstance(event, ev.EpochStart) and event.data["epoch"] == args.epochs:
            marks["start"] = time.perf_counter()
            prof.start()
        elif isinstance(event, ev.EpochEnd) and event.data["epoch"] == args.epochs:
            prof.stop()
            marks["end"] = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="workbench-profile-") as tmp:
        t = trainer.Trainer(cfg, out=Path(tmp) / "run")
        t.subscribe(on_event)
        t.run()
    wall_us = (marks["end"] - marks["start"]) * 1e6
    averages = prof.key_averages()
    totals = part_totals(prof.events())
    print(f"\n{args.model} @ {args.size} px, epoch {args.epochs} profiled: {wall_us / 1e6:.2f} s wall "
          f"(training + validation + checkpoint serialisation), torch threads {torch.get_num_threads()}")
    print("\nShare of the epoch's wall time (CPU time of each range ÷ wall time):")
    accounted = 0.0
    for title, us in totals.items():
        accounted += us
        print(f"  {title:45s} {us / 1e3:9.1f} ms  {100 * us / wall_us:5.1f} %")
    rest = wall_us - accounted
    print(f"  {'model forward + backward + loss (the rest)':45s} {rest / 1e3:9.1f} ms  "
          f"{100 * rest / wall_us:5.1f} %")
    print(f"\nTop {args.rows} operators by self CPU time:")
    print(averages.table(sort_by="self_cpu_time_total", row_limit=args.rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
