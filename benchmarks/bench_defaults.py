"""Are the default settings good and stable? small_cnn with the defaults, seeds 0-4, on the
bundled sample data and on an orientation-sensitive set where a horizontal flip changes the class.

"before" is the defaults as they were (spelled out below, so the comparison stays reproducible
after the defaults change); "after" is ``TrainConfig()`` as it is now. Each prints the validation
accuracy the run keeps (the final report's, with the weights restored to the best epoch) per seed
and the mean ± std, side by side in one run.

    python benchmarks/bench_defaults.py [--phase before|after|both] [--seeds 0 1 2 3 4]
                                        [--sets sample arrows] [--set key=value ...]

``--set`` overrides a setting in both phases (probes):
 ``--set lr=0.003 --set augment.horizontal_flip=false``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from workbench.config import AugmentConfig, TrainConfig
from workbench.engine.trainer import Trainer

# The defaults before issue 15 changed them (only the settings it changed).
BEFORE = {"epochs": 10, "lr": 1e-3, "schedule": "none", "patience": 3, "batch_size": 32,
          "augment.horizontal_flip": True}

ARROWS = ("down", "left", "right", "up")


def make_arrows(out: Path, per_class: int = 100, size: int = 64, seed: int = 0) -> Path:
    """Arrows pointing four ways on noisy backgrounds: mirrored left-right, "left" is "right"."""
    for index, name in enumerate(ARROWS):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            rng = np.random.default_rng((seed, index, i))
            base = rng.integers(0, 256, 3)
            background = np.clip(base + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
            image = Image.fromarray(background)
            draw = ImageDraw.Draw(image)
            length, width = rng.uniform(0.45, 0.8) * size, rng.uniform(0.12, 0.22) * size
            cx, cy = rng.uniform(0.35, 0.65, 2) * size
            # An arrow pointing right: a shaft and a head, turned to the class' direction.
            head = width * 1.8
            points = [(-length / 2, -width / 2), (length / 2 - head, -width / 2),
                      (length / 2 - head, -head), (length / 2, 0), (length / 2 - head, head),
                      (length / 2 - head, width / 2), (-length / 2, width / 2)]
            angle = {"right": 0, "down": 90, "left": 180, "up": 270}[name] + rng.uniform(-20, 20)
            c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            colour = tuple(int(v) for v in (255 - base + rng.integers(-40, 40, 3)).clip(0, 255))
            draw.polygon([(cx + x * c - y * s, cy + x * s + y * c) for x, y in points], fill=colour)
            image.save(folder / f"{name}_{i:03d}.jpg", quality=90)
    return out


def config_for(phase: str, data_dir: str | None, seed: int, overrides: dict) -> TrainConfig:
    values = {**(BEFORE if phase == "before" else {}), **overrides}
    top = {k: v for k, v in values.items() if not k.startswith("augment.")}
    aug = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("augment.")}
    augment = dataclasses.replace(AugmentConfig(), **aug)
    return dataclasses.replace(TrainConfig(), data_dir=data_dir, seed=seed, workers=1, augment=augment,
                               **top)


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=("before", "after", "both"), default="both")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--sets", nargs="+", choices=("sample", "arrows"), default=["sample", "arrows"])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    overrides = {k: _parse_value(v) for k, v in (item.split("=", 1) for item in args.set)}
    phases = ("before", "after") if args.phase == "both" else (args.phase,)
    rows = []
    with tempfile.TemporaryDirectory(prefix="workbench-defaults-") as tmp:
        tmp = Path(tmp)
        data = {"sample": None}
        if "arrows" in args.sets:
            data["arrows"] = str(make_arrows(tmp / "arrows"))
        for name in args.sets:
            for phase in phases:
                accs = []
                for seed in args.seeds:
                    config = config_for(phase, data[name], seed, overrides)
                    started = time.perf_counter()
                    summary = Trainer(config, out=tmp / f"{name}-{phase}-{seed}").run()
                    acc = summary.get("final_val_acc", summary["best_metrics"]["val_acc"])
                    accs.append(acc)
                    print(f"{name:7s} {phase:6s} seed {seed}: val acc {acc:.1%} (best epoch "
                          f"{summary['best_epoch']} of {summary['stopped_epoch']}, "
                          f"{time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
                std = statistics.stdev(accs) if len(accs) > 1 else 0.0
                rows.append((name, phase, accs, statistics.mean(accs), std))
    print("\nset      phase   " + "  ".join(f"seed {s}" for s in args.seeds) + "   mean ± std   min")
    for name, phase, accs, mean, std in rows:
        print(f"{name:8s} {phase:6s}  " + "  ".join(f"{a:6.1%}" for a in accs)
              + f"   {mean:.1%} ± {std:.1%}   {min(accs):.1%}")
    if overrides:
        print(f"(with {overrides})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
