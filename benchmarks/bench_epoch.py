#!/usr/bin/env python
"""Time one training epoch three ways in the same run, and print the ratios between them.

A. engine   the Workbench engine (``workbench.engine.trainer.Trainer``): images decoded once into
            a uint8 cache, batched GPU/CPU augmentation. Timed on a *later* epoch, train part only
            (from ``epoch_start`` to the epoch's last ``batch_end`` event; the engine's own epoch
            seconds include validation and are reported beside it).
B. plain    the loop a user would write: torchvision ``ImageFolder`` + ``DataLoader(num_workers=2,
            shuffle=True)``, PIL decode and ``transforms.v2`` every epoch.
C. compute  the same model trained on pre-stacked, already normalised in-memory float tensors (no
            decode, no augmentation; the engine's optimizer, step included): what the hardware can
            do with no input pipeline at all (the issue's compute-only bound).

The engine's first epoch including the cache fill (decoding every JPEG once) ÷ a later epoch is
reported too, with the fill's seconds and images/s.

Same model (``workbench.models.build_model``), optimizer (AdamW), loss, batch size, training
images (the engine's training split) and device for all three. Machines are noisy: only the
ratios measured side by side in one run are meaningful, so the three are interleaved epoch by
epoch (round k = engine epoch k, then one epoch of B, then one of C, from an ``epoch_end``
subscriber); round 1 is warm-up for all three and the fastest later round of each is reported.

    python benchmarks/bench_epoch.py [--models small_cnn,resnet18,mobilenet_v3_small]
                                     [--sizes 64,128] [--images 1000] [--batch-size 32] [--quick]

The dataset (4 classes of ~500 px JPEGs) is generated once by
``resources/sample_data/make_sample_data.py`` into a temp folder keyed by its parameters.
Results go to the terminal and to ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch
from torch import nn

import workbench
from workbench.config import AugmentConfig, TrainConfig
from workbench.data.loader import batch_indices
from workbench.engine import events as ev
from workbench.engine.callbacks import CheckpointSaver
from workbench.engine.device import device_name, resolve_device
from workbench.engine.trainer import Trainer, _make_optimizer
from workbench.models import build_model, normalization

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GENERATOR = REPO / "resources" / "sample_data" / "make_sample_data.py"
DEFAULT_JSON = HERE / "results" / "latest.json"

DEFAULT_MODELS = ("small_cnn", "resnet18", "mobilenet_v3_small")
DEFAULT_SIZES = (64, 128)
# Default configurations: every model at 64 px; only these at the larger sizes (the others get slow
# on a small CPU). An explicit --models/--sizes runs the full cross product instead.
DEFAULT_LARGE_MODELS = ("small_cnn", "resnet18")
NUM_CLASSES = 4
SOURCE_PX = 500
DATA_SEED = 0

# Augmentation shared by A and B: random crop (area 50-100 %), horizontal flip, rotation ±15°.
CROP_SCALE_MIN = 0.5
ROTATION = 15.0

TARGET_COMPUTE_RATIO = 0.90  # engine throughput ÷ compute-only throughput, at least
TARGET_PLAIN_RATIO = {("mobilenet_v3_small", 64): 0.50, ("resnet18", 64): 0.72}  # engine ÷ plain, at most


# Data ----------------------------------------------------------------------------------------------
def _load_generator():
    spec = importlib.util.spec_from_file_location("workbench_make_sample_data", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def dataset_dir(images: int, source_px: int = SOURCE_PX, seed: int = DATA_SEED) -> Path:
    """The generated JPEG folder, made once per (images, size, seed) under the temp dir."""
    per_class = max(2, images // NUM_CLASSES)
    root = Path(tempfile.gettempdir()) / "workbench-bench-data"
    path = root / f"shapes-{NUM_CLASSES}x{per_class}-{source_px}px-seed{seed}"
    marker = path / ".complete"
    if marker.exists():
        print(f"Dataset: reusing {path} ({per_class * NUM_CLASSES} JPEGs of {source_px} px)", flush=True)
        return path
    print(f"Dataset: generating {per_class * NUM_CLASSES} JPEGs of {source_px} px into {path} ...",
          flush=True)
    started = time.perf_counter()
    _load_generator().make_sample_dataset(path, per_class=per_class, size=source_px, seed=seed)
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps({"per_class": per_class, "size": source_px, "seed": seed,
                                  "seconds": seconds}) + "\n")
    print(f"Dataset: generated in {seconds:.1f} s (cached for later runs)", flush=True)
    return path


# Machine -------------------------------------------------------------------------------------------
def machine_info(device: torch.device) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    import torchvision

    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
        "device_name": device_name(device),
        "workbench": workbench.__version__,
        "loadavg_at_start": list(os.getloadavg()),
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# A. Engine -----------------------------------------------------------------------------------------
def engine_augment() -> AugmentConfig:
    return AugmentConfig(
        enabled=True, horizontal_flip=True, vertical_flip=False, rotation_range=ROTATION,
        width_shift_range=0.0, height_shift_range=0.0, shear_range=0.0, zoom_range=0.0,
        random_resized_crop=True, crop_scale_min=CROP_SCALE_MIN,
        brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0, fill_mode="nearest")


class EngineClock:
    """Subscriber that turns the engine's events into per-epoch timings."""

    def __init__(self) -> None:
        self.run_started = time.perf_counter()
        self.setup_seconds: float | None = None
        self.epoch_started: dict[int, float] = {}
        self.last_batch: dict[int, float] = {}
        self.train_seconds: dict[int, float] = {}
        self.epoch_end: dict[int, dict] = {}
        self.run_start: dict = {}

    def __call__(self, event) -> None:
        now = time.perf_counter()
        data = event.data
        if isinstance(event, ev.RunStart):
            self.run_start = dict(data)
            self.setup_seconds = now - self.run_started
        elif isinstance(event, ev.EpochStart):
            self.epoch_started[data["epoch"]] = now
        elif isinstance(event, ev.BatchEnd):
            if data["iteration"] == data["iterations"]:
                epoch = data["epoch"]
                self.last_batch[epoch] = now
                self.train_seconds[epoch] = now - self.epoch_started[epoch]
        elif isinstance(event, ev.EpochEnd):
            epoch = data["epoch"]
            self.epoch_end[epoch] = {
                "seconds": data["seconds"], "images_per_sec": data["images_per_sec"],
                # After the epoch's clock stops: checkpoints (best/last), metrics and summary files.
                "bookkeeping_seconds": now - self.epoch_started[epoch] - data["seconds"],
            }


def engine_config(model_name: str, size: int, data_dir: Path, args) -> TrainConfig:
    return TrainConfig(
        data_dir=str(data_dir), model=model_name, epochs=args.epochs, batch_size=args.batch_size,
        early_stopping=False, restore_best_weights=False, image_size=size, augment=engine_augment(),
        device=args.device, workers=args.workers, seed=0, lr=1e-3, optimizer="adamw", weight_decay=1e-4)


# B. Plain loop -------------------------------------------------------------------------------------
class PlainLoop:
    """The loop a user would write: ImageFolder + DataLoader + PIL/transforms.v2 every epoch."""

    def __init__(self, model_name: str, size: int, data_dir: Path, train_paths: list[str],
                 batch_size: int, device: torch.device, workers: int = 2):
        from torch.utils.data import DataLoader, Subset
        from torchvision import datasets
        from torchvision.transforms import v2

        mean, std = normalization(model_name, False)
        transform = v2.Compose([
            v2.RandomResizedCrop(size, scale=(CROP_SCALE_MIN, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomRotation(ROTATION),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean, std),
        ])
        folder = datasets.ImageFolder(str(data_dir), transform=transform)
        # The engine's training split, so all three train on the same images.
        index = {os.path.realpath(p): i for i, (p, _) in enumerate(folder.samples)}
        subset = Subset(folder, [index[os.path.realpath(p)] for p in train_paths])
        self.loader = DataLoader(subset, batch_size=batch_size, shuffle=True, num_workers=workers,
                                 pin_memory=device.type == "cuda",
                                 drop_last=len(subset) % batch_size == 1)
        torch.manual_seed(0)
        self.model = build_model(model_name, len(folder.classes), image_size=size,
                                 log=lambda _m: None).to(device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-3, weight_decay=1e-4)
        self.criterion = nn.CrossEntropyLoss()
        self.device = device
        self.images = 0

    def epoch(self) -> float:
        model, device = self.model, self.device
        model.train()
        _sync(device)
        started = time.perf_counter()
        seen, running = 0, 0.0
        for images, labels in self.loader:
            images = images.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            logits = model(images)
            loss = self.criterion(logits, labels)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            running += loss.item() * len(labels)
            seen += len(labels)
        _sync(device)
        self.images = seen
        return time.perf_counter() - started


# C. Compute-only bound -----------------------------------------------------------------------------
class ComputeOnly:
    """The same model on pre-stacked, already normalised float tensors: no input pipeline at all.

    Uses the engine's optimizer (built by the engine's own factory, so also its fused
    implementation) and mixed precision / channels-last settings (both CUDA-only), so it bounds
    what the engine's loop could reach.
    """

    def __init__(self, model_name: str, size: int, cached_uint8: torch.Tensor, labels: torch.Tensor,
                 batch_size: int, device: torch.device, amp: bool, channels_last: bool,
                 config: TrainConfig):
        mean, std = normalization(model_name, False)
        mean_t = torch.tensor(mean).view(1, 3, 1, 1)
        std_t = torch.tensor(std).view(1, 3, 1, 1)
        self.images = ((cached_uint8.cpu().float() / 255 - mean_t) / std_t).to(device)
        if channels_last:
            self.images = self.images.contiguous(memory_format=torch.channels_last)
        self.labels = labels.to(device)
        self.gen = torch.Generator().manual_seed(0)
        torch.manual_seed(0)
        self.model = build_model(model_name, NUM_CLASSES, image_size=size, log=lambda _m: None).to(device)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = _make_optimizer(self.model, config)
        self.criterion = nn.CrossEntropyLoss()
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp)
        self.device, self.amp, self.channels_last = device, amp, channels_last
        self.batch_size = batch_size

    def epoch(self) -> float:
        device, model = self.device, self.model
        # Batches are stacked before the clock starts: the timed loop is nothing but compute.
        order = torch.randperm(len(self.labels), generator=self.gen).to(device)
        batches = [(self.images.index_select(0, idx), self.labels.index_select(0, idx))
                   for idx in batch_indices(order, self.batch_size)]
        model.train()
        _sync(device)
        started = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        for x, y in batches:
            with torch.autocast(device.type, enabled=self.amp):
                logits = model(x)
                loss = self.criterion(logits, y)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            loss_sum += loss.detach() * len(y)
        loss_sum.item()
        _sync(device)
        return time.perf_counter() - started


# One configuration: A, B and C interleaved epoch by epoch ------------------------------------------
class Interleaved:
    """Engine subscriber that builds B and C once the engine's data is ready, and after each engine
    epoch runs one epoch of B and one of C. Round k thus times A, B and C within seconds of each
    other, so a burst of load from elsewhere on the machine hits all three alike."""

    def __init__(self, trainer: Trainer, model_name: str, size: int, data_dir: Path, args):
        self.trainer, self.model_name, self.size, self.data_dir = trainer, model_name, size, data_dir
        self.args = args
        self.clock = EngineClock()
        self.plain: PlainLoop | None = None
        self.compute: ComputeOnly | None = None
        self.plain_seconds: list[float] = []
        self.compute_seconds: list[float] = []
        self.checkpoint_wait_seconds: list[float] = []
        self.decode_seconds = 0.0

    def __call__(self, event) -> None:
        self.clock(event)
        if isinstance(event, ev.RunStart):
            t, args = self.trainer, self.args
            self.plain = PlainLoop(self.model_name, self.size, self.data_dir, list(t.data.train.paths),
                                   args.batch_size, t.device, workers=args.plain_workers)
            self.compute = ComputeOnly(self.model_name, self.size, t.data.train.images,
                                       t.data.train.labels, args.batch_size, t.device, t.amp,
                                       t.channels_last, t.config)
            self.decode_seconds = t.data.decode_seconds
        elif isinstance(event, ev.EpochEnd):
            epoch = event.data["epoch"]
            a = self.clock.train_seconds[epoch]
            # The engine writes its checkpoints on a background thread while it trains the next
            # epoch; B and C must not share the CPU with that write, so let it land first.
            waited = time.perf_counter()
            self.trainer.callbacks.find(CheckpointSaver).writer.wait_idle()
            self.checkpoint_wait_seconds.append(time.perf_counter() - waited)
            b = self.plain.epoch()
            self.plain_seconds.append(b)
            c = self.compute.epoch()
            self.compute_seconds.append(c)
            print(f"  round {epoch}{' (warm-up)' if epoch == 1 else ''}: A engine {a:6.2f} s "
                  f"(+val {event.data['seconds']:.2f} s)   B plain {b:6.2f} s   C compute {c:6.2f} s",
                  flush=True)


def bench_config(model_name: str, size: int, data_dir: Path, args) -> dict:
    print(f"\n== {model_name} @ {size} px ==", flush=True)
    load_before = os.getloadavg()
    cfg = engine_config(model_name, size, data_dir, args)
    with tempfile.TemporaryDirectory(prefix="workbench-bench-run-") as tmp:
        trainer = Trainer(cfg, out=Path(tmp) / "run")
        bench = Interleaved(trainer, model_name, size, data_dir, args)
        trainer.subscribe(bench)
        started = bench.clock.run_started = time.perf_counter()
        trainer.run()
        wall = time.perf_counter() - started
    clock, epochs = bench.clock, args.epochs
    n_train = clock.run_start["n_train"]
    a = [clock.train_seconds[e] for e in range(1, epochs + 1)]
    a_val = [clock.epoch_end[e]["seconds"] for e in range(1, epochs + 1)]
    b, c = bench.plain_seconds, bench.compute_seconds
    # Round 1 is warm-up for all three; of the later rounds the fastest is the least disturbed.
    a_best, b_best, c_best = min(a[1:]), min(b[1:]), min(c[1:])
    engine = {
        "n_train": n_train,
        "n_val": clock.run_start["n_val"],
        "setup_seconds": clock.setup_seconds,  # scan + decode into the cache + model build
        "train_seconds_per_epoch": a,
        "epoch_seconds_per_epoch_incl_val": a_val,
        "reported_train_images_per_sec": [clock.epoch_end[e]["images_per_sec"]
                                          for e in range(1, epochs + 1)],
        "validation_seconds_per_epoch": [x - y for x, y in zip(a_val, a, strict=True)],
        "bookkeeping_seconds_per_epoch": [clock.epoch_end[e]["bookkeeping_seconds"]
                                          for e in range(1, epochs + 1)],
        # What was left of the background checkpoint write when the engine's epoch_end arrived.
        "checkpoint_background_seconds_per_epoch": bench.checkpoint_wait_seconds,
        "cache_fill_seconds": bench.decode_seconds,
        "cache_fill_images_per_sec": (n_train + clock.run_start["n_val"]) / max(bench.decode_seconds, 1e-9),
        "first_incl_cache_fill_over_later": (bench.decode_seconds + a[0]) / a_best,
        "train_seconds": a_best,
        "epoch_seconds_incl_val": min(a_val[1:]),
        "first_over_later": a[0] / a_best,
        "images_per_sec": n_train / a_best,
        "workers": args.workers,
    }
    plain = {"n_train": bench.plain.images, "seconds_per_epoch": b, "train_seconds": b_best,
             "images_per_sec": bench.plain.images / b_best, "workers": args.plain_workers}
    compute = {"n_train": n_train, "seconds_per_epoch": c, "train_seconds": c_best,
               "images_per_sec": n_train / c_best, "amp": bench.compute.amp,
               "channels_last": bench.compute.channels_last}
    engine_over_plain = a_best / b_best
    engine_over_compute = engine["images_per_sec"] / compute["images_per_sec"]
    target_plain = TARGET_PLAIN_RATIO.get((model_name, size))
    return {
        "model": model_name,
        "image_size": size,
        "batch_size": args.batch_size,
        "n_train": n_train,
        "device": str(trainer.device),
        "engine": engine,
        "plain": plain,
        "compute": compute,
        "engine_over_plain": engine_over_plain,
        "engine_over_compute_throughput": engine_over_compute,
        "engine_first_over_later": engine["first_over_later"],
        "engine_first_incl_cache_fill_over_later": engine["first_incl_cache_fill_over_later"],
        "per_round_engine_over_plain": [x / y for x, y in zip(a[1:], b[1:], strict=True)],
        "per_round_engine_over_compute_throughput": [y / x for x, y in zip(a[1:], c[1:], strict=True)],
        "wall_seconds": wall,
        "loadavg_1min_before_after": [load_before[0], os.getloadavg()[0]],
        "targets": {
            "engine_over_compute_throughput_min": TARGET_COMPUTE_RATIO,
            "engine_over_compute_met": engine_over_compute >= TARGET_COMPUTE_RATIO,
            "engine_over_plain_max": target_plain,
            "engine_over_plain_met": None if target_plain is None else engine_over_plain <= target_plain,
        },
    }


# Output --------------------------------------------------------------------------------------------
COLUMNS = [
    ("model", "{model}"), ("px", "{image_size}"), ("train imgs", "{n_train}"),
    ("A engine s", "{a:.2f}"), ("A +val s", "{a_val:.2f}"), ("B plain s", "{b:.2f}"),
    ("C compute s", "{c:.2f}"), ("engine/plain", "{ep:.3f}{ep_mark}"),
    ("engine÷compute thr.", "{ec:.3f}{ec_mark}"), ("A 1st+cache/later", "{flc:.2f}"),
    ("A 1st/later", "{fl:.2f}"), ("cache s", "{cache:.2f}"), ("cache img/s", "{cache_rate:.0f}"),
]


def _mark(met: bool | None) -> str:
    return "" if met is None else (" ok" if met else " MISS")


def format_table(results: list[dict]) -> str:
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["model"], str(r["image_size"]), "-", "error: " + r["error"]] +
                        [""] * (len(COLUMNS) - 4))
            continue
        t = r["targets"]
        values = {
            "model": r["model"], "image_size": r["image_size"], "n_train": r["n_train"],
            "a": r["engine"]["train_seconds"], "a_val": r["engine"]["epoch_seconds_incl_val"],
            "b": r["plain"]["train_seconds"], "c": r["compute"]["train_seconds"],
            "ep": r["engine_over_plain"], "ep_mark": _mark(t["engine_over_plain_met"]),
            "ec": r["engine_over_compute_throughput"], "ec_mark": _mark(t["engine_over_compute_met"]),
            "fl": r["engine_first_over_later"], "flc": r["engine_first_incl_cache_fill_over_later"],
            "cache": r["engine"]["cache_fill_seconds"],
            "cache_rate": r["engine"]["cache_fill_images_per_sec"],
        }
        rows.append([fmt.format(**values) for _, fmt in COLUMNS])
    header = [name for name, _ in COLUMNS]
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) if rows else len(header[i])
              for i in range(len(header))]

    def line(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in pairs)

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in rows]
    return "\n".join(out)


LEGEND = """\
All times: fastest of the timed rounds (round 1 = warm-up), A, B and C interleaved per round.
A engine s    Workbench engine, one later epoch, TRAIN-ONLY seconds (epoch_start -> last batch_end);
              "A +val s" is the engine's own epoch_end seconds, which include validation.
B plain s     ImageFolder + DataLoader(num_workers={plain_workers}) + PIL/transforms.v2 every epoch.
C compute s   same model on pre-stacked normalised float tensors (no input pipeline).
engine/plain  A ÷ B epoch time: lower is better (target <= 0.50 mobilenet_v3_small@64, <= 0.72 resnet18@64).
engine÷compute thr.  engine images/s ÷ compute-only images/s: higher is better, 1.0 = no pipeline
              overhead (target >= 0.90).
A 1st+cache/later  engine's first epoch INCLUDING filling the cache (decoding every image once,
              done just before epoch 1) ÷ a later epoch, train-only.
A 1st/later   the same without the cache fill: warm-up alone.
cache s, cache img/s  filling the uint8 cache: decoding all training + validation JPEGs (threads,
              PIL draft mode) at training size.
Same augmentation in A and B: random resized crop (scale {crop}-1), horizontal flip, rotation ±{rot:g}°."""


def parse_args(argv: list[str] | None = None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", help=f"comma-separated (default {','.join(DEFAULT_MODELS)})")
    p.add_argument("--sizes", help="comma-separated image sizes (default 64,128: every model at 64 px, "
                                   f"{' and '.join(DEFAULT_LARGE_MODELS)} at 128 px)")
    p.add_argument("--images", type=int, default=1000, help="images generated (4 classes; default 1000)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=3,
                   help="rounds (epochs per method, interleaved A, B, C): the first is warm-up, the "
                        "fastest of the rest is reported (default 3)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--workers", type=int, default=2, help="engine workers (decode threads = 2x)")
    p.add_argument("--plain-workers", type=int, default=2, help="DataLoader workers of the plain loop")
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice); "
                                                "1 gives steadier figures on a machine busy with other work")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the results")
    p.add_argument("--quick", action="store_true", help="smoke run: 200 images, small_cnn at 64 px")
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be at least 2 (one warm-up epoch, then timed ones)")
    if args.quick:
        args.images, models, sizes = 200, ["small_cnn"], [64]
        configs = [(m, s) for s in sizes for m in models]
    else:
        models = args.models.split(",") if args.models else list(DEFAULT_MODELS)
        sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(DEFAULT_SIZES)
        if args.models or args.sizes:
            configs = [(m, s) for s in sizes for m in models]
        else:
            configs = [(m, s) for s in sizes for m in models
                       if s == min(sizes) or m in DEFAULT_LARGE_MODELS]
    args.configs = configs
    return args


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    machine = machine_info(device)
    print("Machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()), flush=True)
    print("Configurations: " + ", ".join(f"{m}@{s}" for m, s in args.configs), flush=True)
    data_dir = dataset_dir(args.images)
    payload = {
        "benchmark": "bench_epoch",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine,
        "settings": {"images": args.images, "source_px": SOURCE_PX, "batch_size": args.batch_size,
                     "epochs_per_method": args.epochs, "engine_workers": args.workers,
                     "plain_workers": args.plain_workers, "quick": args.quick,
                     "augmentation": {"random_resized_crop_scale": [CROP_SCALE_MIN, 1.0],
                                      "horizontal_flip": True, "rotation_degrees": ROTATION},
                     "dataset": str(data_dir)},
        "results": [],
    }
    for model_name, size in args.configs:
        try:
            result = bench_config(model_name, size, data_dir, args)
        except Exception as exc:  # noqa: BLE001 — one failing configuration must not lose the others
            traceback.print_exc()
            result = {"model": model_name, "image_size": size, "error": f"{type(exc).__name__}: {exc}"}
        payload["results"].append(result)
        write_json(args.json, payload)

    print()
    print(f"Machine: {machine['cpu']}, {machine['usable_cores']} cores, torch {machine['torch']}, "
          f"device {machine['device_name']}")
    print(format_table(payload["results"]))
    busy = [r["loadavg_1min_before_after"] for r in payload["results"] if "loadavg_1min_before_after" in r]
    if any(max(pair) > machine["usable_cores"] for pair in busy):
        print(f"WARNING: the 1-minute load average exceeded the {machine['usable_cores']} usable cores "
              "during the run (other work on the machine): figures are noisy; rerun on a quiet machine.")
    print()
    print(LEGEND.format(plain_workers=args.plain_workers, crop=CROP_SCALE_MIN, rot=ROTATION))
    print(f"\nResults written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
