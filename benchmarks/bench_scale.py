"""Sets larger than the memory budget: the disk cache against the in-memory cache and a plain loop.

Side by side in one run, mobilenet_v3_small at 64 px on the same training images:

* **plain**: ``torchvision.datasets.ImageFolder`` + ``DataLoader(num_workers=2)``, PIL decode and
  ``transforms.v2`` augmentation every epoch (bench_epoch.py's plain loop);
* **memory**: the engine with the set under its memory budget (decoded once into RAM);
* **disk, run 1**: the engine with the budget shrunk to a quarter of the set: decoded once into
  the disk cache (a fresh cache folder), then read through the page cache;
* **disk, run 2**: a second run on the same folder and size: it finds the cache and decodes
  nothing.

For each: the fill (decoding before epoch 1), the first epoch including the fill, and the fastest
later epoch (train part: the engine's ``epoch_start`` to its last ``batch_end``). Then the scan of
a folder of many tiny files: a first scan, a rescan of the unchanged folder (incremental: no file
opened), and a rescan after 100 files changed.

    python benchmarks/bench_scale.py                  # 1,000 JPEGs of 500 px, 3 epochs, 100,000-file scan
    python benchmarks/bench_scale.py --scan-files 0   # without the scan part

Machines are noisy (shared ones very much so): compare the ratios printed, not seconds across runs.
The arms run one after another, so a burst of load elsewhere can land on one of them; each later
epoch is the fastest of epochs 2..N.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_epoch  # noqa: E402  (its dataset, engine settings, event clock and plain loop)

from workbench.data.loader import cache_bytes  # noqa: E402
from workbench.engine import events as ev  # noqa: E402
from workbench.engine.device import resolve_device  # noqa: E402
from workbench.engine.trainer import Trainer  # noqa: E402

TARGETS = {"disk_vs_memory": 1.15, "disk_vs_plain": 0.5, "second_first_vs_later": 1.2, "scan_s": 10.0}
RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"


def engine_arm(label: str, config, out: Path) -> dict:
    clock = bench_epoch.EngineClock()
    trainer = Trainer(config, out=out / label)
    lines: list[str] = []
    trainer.subscribe(clock)
    trainer.subscribe(lambda e: lines.append(e.message) if isinstance(e, ev.Log) else None)
    trainer.run()
    epochs = [clock.train_seconds[e] for e in sorted(clock.train_seconds)]
    fill = trainer.data.decode_seconds
    cache_lines = [line for line in lines if "cache" in line.lower() or line.startswith("Decod")]
    return {"arm": label, "source": type(trainer.data.train).__name__, "fill_s": fill,
            "epochs_s": epochs, "first_with_fill_s": fill + epochs[0], "later_s": min(epochs[1:]),
            "log": cache_lines, "train_paths": trainer.data.train.paths}


def plain_arm(config, data_dir: Path, train_paths: list[str], epochs: int) -> dict:
    device = resolve_device(config.device)
    loop = bench_epoch.PlainLoop(config.model, config.image_size, data_dir, train_paths,
                                 config.batch_size, device, workers=2)
    times = [loop.epoch() for _ in range(epochs)]
    return {"arm": "plain", "source": "ImageFolder+DataLoader", "fill_s": 0.0, "epochs_s": times,
            "first_with_fill_s": times[0], "later_s": min(times[1:])}


def scan_benchmark(files: int) -> dict:
    """A folder of ``files`` tiny PNGs in 10 classes (made once), scanned three times."""
    from PIL import Image

    from workbench.data.scan import scan_image_folder

    root = Path(tempfile.gettempdir()) / "workbench-bench-scan" / f"tiny-{files}"
    if not (root / ".complete").exists():
        print(f"Scan: writing {files:,} tiny PNGs into {root} ...", flush=True)
        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (90, 120, 200)).save(buf, "PNG")
        data = buf.getvalue()
        for c in range(10):
            (root / f"class{c}").mkdir(parents=True, exist_ok=True)
        for i in range(files):
            with open(root / f"class{i % 10}" / f"{i:06d}.png", "wb") as fh:
                fh.write(data)
        (root / ".complete").touch()
    calls: list[tuple[int, int]] = []

    def timed(label: str) -> float:
        calls.clear()
        started = time.perf_counter()
        scan = scan_image_folder(root, progress=lambda done, total: calls.append((done, total)))
        seconds = time.perf_counter() - started
        assert scan.num_images == files, scan.num_images
        print(f"Scan {label}: {seconds:.2f} s ({len(calls)} progress updates)", flush=True)
        return seconds

    full = timed("first (every header opened)")
    unchanged = timed("again, folder unchanged (incremental)")
    for i in range(0, files, max(1, files // 100)):  # 100 files change
        path = root / f"class{i % 10}" / f"{i:06d}.png"
        os.utime(path, ns=(time.time_ns(), time.time_ns()))
    changed = timed("again after 100 files changed")
    return {"files": files, "first_s": full, "unchanged_s": unchanged, "after_100_changed_s": changed,
            "progress_updates": len(calls)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1000, help="generated JPEGs (1000)")
    parser.add_argument("--data", type=Path, help="an image folder to use instead of generated JPEGs")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per arm, at least 2 (3)")
    parser.add_argument("--model", default="mobilenet_v3_small")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--scan-files", type=int, default=100_000, help="tiny files to scan; 0: skip")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"results file ({RESULTS.name})")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is not a later one)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    data_dir = args.data or bench_epoch.dataset_dir(args.images)
    work = Path(tempfile.mkdtemp(prefix="workbench-bench-scale-"))
    os.environ["WORKBENCH_CACHE_DIR"] = str(work / "cache")  # a fresh disk cache: run 1 fills it
    base = bench_epoch.engine_config(args.model, args.image_size, data_dir, args)
    n = len(list(data_dir.rglob("*.jpg"))) or args.images
    needed = cache_bytes(n, args.image_size)
    budget = max(1, needed // 4 // 2**20)
    print(f"{n} images need {needed / 2**20:.1f} MB at {args.image_size} px; disk arms run with a "
          f"{budget} MB memory budget ({needed / (budget * 2**20):.1f}× over it).", flush=True)

    memory = engine_arm("memory", replace(base, cache_budget_mb=max(2048, 2 * needed // 2**20)), work)
    disk1 = engine_arm("disk, run 1", replace(base, cache_budget_mb=budget), work)
    disk2 = engine_arm("disk, run 2", replace(base, cache_budget_mb=budget), work)
    plain = plain_arm(base, data_dir, memory.pop("train_paths"), args.epochs)
    disk1.pop("train_paths"), disk2.pop("train_paths")
    arms = [plain, memory, disk1, disk2]

    print(f"\n{'arm':<13} {'source':<22} {'fill s':>7} {'1st+fill s':>10} {'later s':>8}  epochs (s)")
    for a in arms:
        print(f"{a['arm']:<13} {a['source']:<22} {a['fill_s']:7.2f} {a['first_with_fill_s']:10.2f} "
              f"{a['later_s']:8.2f}  " + " ".join(f"{s:.2f}" for s in a["epochs_s"]))
    later_disk = min(disk1["later_s"], disk2["later_s"])  # both read the same cache file
    ratios = {
        "disk_vs_memory": later_disk / memory["later_s"],
        "disk_vs_plain": later_disk / plain["later_s"],
        "second_first_vs_later": disk2["epochs_s"][0] / disk2["later_s"],
    }
    print()
    for key, value in ratios.items():
        verdict = "met" if value <= TARGETS[key] else "NOT met"
        print(f"{key:<24} {value:5.2f}  (target ≤ {TARGETS[key]})  {verdict}")
    print("\nDisk run 1 log:\n  " + "\n  ".join(disk1["log"]))
    print("Disk run 2 log:\n  " + "\n  ".join(disk2["log"]))
    scan = scan_benchmark(args.scan_files) if args.scan_files else None
    if scan:
        print(f"scan of {scan['files']:,} files: {scan['first_s']:.2f} s (target ≤ {TARGETS['scan_s']} s) "
              f"{'met' if scan['first_s'] <= TARGETS['scan_s'] else 'NOT met'}; unchanged rescan "
              f"{scan['unchanged_s']:.2f} s; after 100 changes {scan['after_100_changed_s']:.2f} s")
    payload = {"machine": bench_epoch.machine_info(resolve_device(args.device)), "args": vars(args)
               | {"json": str(args.json)}, "images": n, "needed_mb": needed / 2**20, "budget_mb": budget,
               "arms": arms, "ratios": ratios, "targets": TARGETS, "scan": scan}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\nWrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
