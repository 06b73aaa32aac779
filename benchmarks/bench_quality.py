"""Training quality of the regularisers, side by side: validation accuracy, minority-class recall and
the epoch-time cost of each, on the sample data and on an imbalanced copy of it.

For each model, dataset and seed the variants run one after another (the plain run first), so a
burst of load elsewhere on the machine tends to hit a whole group; each variant's epoch time is a
ratio to the plain run of its own group, and the table gives the mean ± std over the groups.

    python benchmarks/bench_quality.py                 # quick: 32 px, 2 epochs, seed 0
    python benchmarks/bench_quality.py --full          # the issue's table: 64 px, 10 epochs, seeds 0-2
    python benchmarks/bench_quality.py --models small_cnn --seeds 0 1 2 --epochs 5 --json out.json

Variants: ``defaults`` (the settings as shipped), ``balanced`` (``class_weights=balanced``; skipped
with a message while that setting does not exist), ``randaugment`` (RandAugment, 2 operations,
magnitude 9), ``mixup_cutmix`` (MixUp alpha 0.2 or CutMix alpha 1.0 per batch) and ``ema``
(weight averaging, decay 0.999). Accuracy and recall are the final report's: the weights the run
keeps (the best epoch's, as the defaults restore them), on the validation split. The imbalanced
set keeps 10 % of one class's images (``--minority``); on the sample data the same class's recall
is shown for comparison. The epoch time is the training part of each epoch (validation left out),
averaged over the epochs after the first.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.config import AugmentConfig, TrainConfig  # noqa: E402
from workbench.engine.trainer import Trainer  # noqa: E402

SAMPLE = ROOT / "resources" / "sample_data"
# Each variant: the settings it changes (``augment.*`` for augmentation settings).
VARIANTS: dict[str, dict] = {
    "defaults": {},
    "balanced": {"class_weights": "balanced"},
    "randaugment": {"augment.policy": "randaugment"},
    "mixup_cutmix": {"augment.mixup_alpha": 0.2, "augment.cutmix_alpha": 1.0},
    "ema": {"ema": True},
}


def missing_settings(changes: dict) -> list[str]:
    """The settings of ``changes`` this version of Workbench does not have."""
    top = {f.name for f in dataclasses.fields(TrainConfig)}
    augment = {f.name for f in dataclasses.fields(AugmentConfig)}
    return [key for key in changes
            if (key[8:] not in augment if key.startswith("augment.") else key not in top)]


def make_config(base: dict, changes: dict) -> TrainConfig:
    config = TrainConfig(**base)
    for key, value in changes.items():
        target, name = (config.augment, key[8:]) if key.startswith("augment.") else (config, key)
        setattr(target, name, value)
    return config.validate()


def imbalanced_copy(source: Path, minority: str, keep: float, out: Path) -> Path:
    """``source`` with only ``keep`` of the ``minority`` class's images (the first ones by name)."""
    classes = sorted(p for p in source.iterdir() if p.is_dir())
    for folder in classes:
        images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".jpg", ".png"))
        if folder.name == minority:
            images = images[:max(2, round(len(images) * keep))]
        (out / folder.name).mkdir(parents=True)
        for image in images:
            shutil.copy2(image, out / folder.name / image.name)
    return out


def train_once(config: TrainConfig, minority: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        trainer = Trainer(config, out=Path(tmp) / "run")
        summary = trainer.run()
        wall = time.perf_counter() - started
    history = trainer.history
    # Training part of each epoch: the images it trained on at its measured speed.
    seconds = [h["train_images"] / h["images_per_sec"] for h in history]
    later = seconds[1:] or seconds
    recall = next((c["recall"] for c in summary.get("per_class", []) if c["class"] == minority), None)
    return {"val_acc": summary.get("final_val_acc"), "minority_recall": recall,
            "epoch_seconds": statistics.mean(later), "epochs_run": len(history), "wall_seconds": wall,
            "status": summary["status"]}


def mean_std(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help="the issue's table: 64 px, 10 epochs, seeds 0 1 2")
    parser.add_argument("--models", nargs="+", default=["small_cnn", "resnet18"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default 0 (quick), 0 1 2 (full)")
    parser.add_argument("--epochs", type=int, default=None, help="default 2 (quick), 10 (full)")
    parser.add_argument("--image-size", type=int, default=None, help="default 32 (quick), 64 (full)")
    parser.add_argument("--minority", default="triangle", help="the class cut down in the imbalanced set")
    parser.add_argument("--keep", type=float, default=0.1, help="share of the minority class kept")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", type=Path, help="also write every run's numbers here")
    args = parser.parse_args(argv)
    seeds = args.seeds or ([0, 1, 2] if args.full else [0])
    epochs = args.epochs or (10 if args.full else 2)
    size = args.image_size or (64 if args.full else 32)

    variants = {}
    for name in args.variants:
        missing = missing_settings(VARIANTS[name])
        if missing:
            print(f"Skipping {name}: this Workbench has no setting {', '.join(missing)} yet.")
        else:
            variants[name] = VARIANTS[name]
    if "defaults" not in variants:
        variants = {"defaults": {}, **variants}  # every cost is a ratio to it

    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        datasets = {"sample": SAMPLE,
                    "imbalanced": imbalanced_copy(SAMPLE, args.minority, args.keep, Path(tmp) / "imbalanced")}
        for dataset, folder in datasets.items():
            for model in args.models:
                for seed in seeds:
                    base = dict(data_dir=str(folder), model=model, image_size=size, epochs=epochs, seed=seed,
                                device=args.device)
                    plain = None
                    for variant, changes in variants.items():
                        result = train_once(make_config(base, changes), args.minority)
                        plain = plain or result["epoch_seconds"]
                        result.update(dataset=dataset, model=model, seed=seed, variant=variant,
                                      cost=result["epoch_seconds"] / plain)
                        rows.append(result)
                        recall = result["minority_recall"]
                        print(f"  {dataset:10s} {model:10s} seed {seed} {variant:13s} val acc "
                              f"{result['val_acc']:.3f}  {args.minority} recall "
                              f"{'n/a' if recall is None else f'{recall:.2f}'}  epoch "
                              f"{result['epoch_seconds']:.2f} s (×{result['cost']:.2f})", flush=True)

    print(f"\n{size} px, {epochs} epochs, seeds {' '.join(map(str, seeds))}; mean ± std over seeds; "
          f"cost: training seconds per epoch ÷ the plain run's of the same group")
    header = f"| dataset | model | variant | val accuracy | {args.minority} recall | epoch-time cost |"
    print(header)
    print("|" + "---|" * 6)
    for dataset in datasets:
        for model in args.models:
            for variant in variants:
                key = (dataset, model, variant)
                group = [r for r in rows if (r["dataset"], r["model"], r["variant"]) == key]
                print(f"| {dataset} | {model} | {variant} | {mean_std([r['val_acc'] for r in group])} | "
                      f"{mean_std([r['minority_recall'] for r in group])} | "
                      f"{mean_std([r['cost'] for r in group])} |")
    if args.json:
        args.json.write_text(json.dumps({"image_size": size, "epochs": epochs, "seeds": seeds, "runs": rows},
                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
