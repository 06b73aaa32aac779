"""The ``export``, ``predict``, ``models``, ``runs`` and ``cache`` subcommands: what to do around a
training, and the disk cache of decoded images.

Names printed here come from files (class names, run names, paths) and go through
:func:`workbench.safe_text.printable`, so a name holding a newline or escape codes cannot forge
or recolour a line of output.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workbench.safe_text import printable, printable_lines

# Equal to workbench.export.FORMATS (a test checks); spelled out so that `workbench runs` and
# `--help` start without importing torch, which takes seconds.
EXPORT_FORMATS = ("pt", "safetensors", "torchscript", "onnx")
_CHECKPOINT_HELP = "which checkpoint of a run: the best epoch's (default) or the last one's"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommands to ``workbench``'s parser."""
    export = sub.add_parser(
        "export", help="export a run's model (pt, safetensors, torchscript, onnx)",
        description="Write a run's trained model in a format to use anywhere, with its metadata "
                    "(class names, input size, normalisation) beside it, and verify it reproduces "
                    "the trained model on validation images.")
    export.add_argument("run", help="run folder")
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS, help="file format")
    export.add_argument("--checkpoint", choices=("best", "last"), default="best", help=_CHECKPOINT_HELP)
    export.add_argument("--out", help="file to write, or a folder for the default name (a name ending "
                                      "in / is a folder, created if needed; default: "
                                      "RUN/exports/RUNNAME-CHECKPOINT.<format suffix>)")
    export.add_argument("--force", action="store_true",
                        help="replace an existing file (a run's own files are never replaced)")
    export.set_defaults(func=cmd_export)

    predict = sub.add_parser(
        "predict", help="classify images with a run or an exported model",
        description="Print the top classes with probabilities for each image, using a run folder or "
                    "any exported model file (.pt, .safetensors, .torchscript.pt, .onnx).")
    predict.add_argument("model", help="run folder or exported model file")
    predict.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER",
                         help="image files, or folders searched for images")
    predict.add_argument("--top-k", type=int, default=3, metavar="K", help="classes shown per image (3)")
    predict.add_argument("--checkpoint", choices=("best", "last"), default="best", help=_CHECKPOINT_HELP)
    predict.add_argument("--unsure-below", type=float, default=None, metavar="P",
                         help="mark a prediction unsure (with its runner-up class) when its calibrated "
                              "probability is below P, between 0 and 1 (default: the model's own, set "
                              "when it was trained: --unsure-below of workbench train, 0.5 unless changed)")
    predict.add_argument("--json", action="store_true", help="print JSON instead of text")
    predict.add_argument("--tta", action="store_true",
                         help="test-time augmentation: average each image's prediction with its mirror "
                              "image's (left-right; for classes that look the same mirrored)")
    predict.add_argument("--trust-torchscript", action="store_true",
                         help="load a TorchScript file this installation did not export. Loading "
                              "TorchScript runs the code inside the file: only for files you trust "
                              "(ONNX and safetensors hold no code)")
    predict.add_argument("--explain", metavar="OUT_DIR",
                         help="also write a Grad-CAM heat map of the predicted class over each image "
                              "to OUT_DIR (NAME.heatmap.png; a run folder, .pt, .safetensors or "
                              "TorchScript model)")
    predict.set_defaults(func=cmd_predict)

    models = sub.add_parser("models", help="list the models --model accepts",
                            description="List the built-in models, or with --timm the architectures "
                                        "of the timm library (--model timm:NAME).")
    models.add_argument("pattern", nargs="?", help="only names containing this text (timm: a "
                                                   "wildcard pattern such as 'convnext*')")
    models.add_argument("--timm", action="store_true", help="list timm's architectures")
    models.set_defaults(func=cmd_models)

    runs = sub.add_parser("runs", help="list past runs, newest first",
                          description="List the runs in the runs folder: name, date, model, dataset, "
                                      "epochs run, best metric and status.")
    runs.add_argument("--runs-dir", help="folder that holds runs (default: your data directory)")
    runs.add_argument("--json", action="store_true", help="print JSON instead of a table")
    runs.set_defaults(func=cmd_runs)

    cache = sub.add_parser("cache", help="list or clear the disk cache of decoded images",
                           description="Images over the memory budget are decoded once into the disk "
                                       "cache, which later runs on the same folder and image size "
                                       "read. List its entries, or remove them (an entry being "
                                       "filled by a running process is kept).")
    cache.add_argument("action", choices=("list", "clear"), help="list the entries, or remove them")
    cache.add_argument("--json", action="store_true", help="list: print JSON instead of a table")
    cache.set_defaults(func=cmd_cache)


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {printable_lines(message)}", file=sys.stderr)
    return code


def cmd_export(args: argparse.Namespace) -> int:
    from workbench.export import ExportError, export_model

    try:
        result = export_model(args.run, args.format, args.checkpoint, args.out, force=args.force)
    except ExportError as exc:
        return _fail(str(exc))
    print(printable(result.describe()))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from workbench.models import WeightsError
    from workbench.predict import Predictor, UnreadableImagesError, expand_image_paths

    if args.top_k < 1:
        return _fail(f"--top-k must be at least 1, got {args.top_k}", 2)
    if args.unsure_below is not None and not 0 <= args.unsure_below <= 1:
        return _fail(f"--unsure-below must be between 0 and 1, got {args.unsure_below}", 2)
    try:
        predictor = Predictor.load(args.model, checkpoint=args.checkpoint,
                                   trust_torchscript=args.trust_torchscript)
    except WeightsError as exc:
        return _fail(str(exc))
    explainer = None
    if args.explain:
        from workbench.explain import Explainer, ExplainError

        try:
            explainer = Explainer.for_model(predictor)
        except (ExplainError, WeightsError) as exc:
            return _fail(str(exc))
    files, skipped = expand_image_paths(args.images)
    results = []
    threshold = predictor.unsure_below if args.unsure_below is None else args.unsure_below
    if files:
        try:
            results = predictor.predict(files, args.top_k, on_skip=lambda i, r: skipped.append((i, r)),
                                        unsure_below=threshold, tta=args.tta)
        except UnreadableImagesError:
            pass  # every file is in ``skipped`` already
        except WeightsError as exc:  # the model's output does not match its metadata
            return _fail(str(exc))
    heat_maps: dict[str, str] = {}
    if explainer is not None and results:
        try:
            heat_maps = _write_heat_maps(explainer, results, Path(args.explain))
        except OSError as exc:
            return _fail(f"Cannot write heat maps to {args.explain}: {exc.strerror or exc}")
    if args.json:
        print(json.dumps({
            "model": predictor.source, "class_names": predictor.class_names, "tta": args.tta,
            "temperature": predictor.temperature, "unsure_below": threshold,
            "predictions": [{"image": r.image, "top": [{"class": c, "probability": p} for c, p in r.top],
                             "unsure": r.unsure,
                             "runner_up": None if r.runner_up is None else
                             {"class": r.runner_up[0], "probability": r.runner_up[1]},
                             **({"heat_map": heat_maps[r.image]} if r.image in heat_maps else {})}
                            for r in results],
            "skipped": [{"image": i, "reason": r} for i, r in skipped]}, indent=2))
    else:
        for r in results:
            print(printable(r.image) + (_unsure_note(r, threshold) if r.unsure else ""))
            names = [printable(c) for c, _ in r.top]
            width = max(len(n) for n in names)
            for rank, (name, (_, probability)) in enumerate(zip(names, r.top, strict=True), start=1):
                print(f"  {rank}. {name:<{width}}  {probability:7.2%}")
            if r.image in heat_maps:
                print(f"  heat map of {names[0]}: {printable(heat_maps[r.image])}")
    if skipped:
        print(f"Skipped {len(skipped)} input(s):", file=sys.stderr)
        for image, reason in skipped:
            print(f"  {printable(image)}: {printable(reason)}", file=sys.stderr)
    if not results:
        return _fail("no image could be predicted")
    return 0


def _write_heat_maps(explainer, results, out_dir: Path) -> dict[str, str]:
    """One overlay PNG per predicted image (its top class), written atomically; image → PNG path."""
    from workbench.explain import overlay_file_names, png_bytes
    from workbench.runs import atomic_write_bytes

    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for r, name in zip(results, overlay_file_names([Path(r.image) for r in results]), strict=True):
        image, _ = explainer.overlay_of_file(r.image, r.top[0][0])
        target = out_dir / name
        atomic_write_bytes(target, png_bytes(image))
        written[r.image] = str(target)
    return written


def cmd_models(args: argparse.Namespace) -> int:
    if not args.timm:
        from workbench.models import MODELS

        for spec in MODELS.values():
            if not args.pattern or args.pattern.lower() in spec.name.lower():
                print(f"{spec.name:<20} {spec.description}")
        print("\nAny timm architecture too: --model timm:NAME (`workbench models --timm` lists them).")
        return 0
    from workbench import timm_models

    try:
        names = timm_models.architectures()
    except timm_models.TimmUnavailableError as exc:
        return _fail(str(exc))
    if args.pattern:
        from fnmatch import fnmatch

        pattern = args.pattern if any(c in args.pattern for c in "*?[") else f"*{args.pattern}*"
        names = tuple(n for n in names if fnmatch(n, pattern))
    for name in names:
        print(timm_models.PREFIX + name)
    print(f"\n{len(names)} timm architecture(s)", file=sys.stderr)
    return 0


def _unsure_note(prediction, threshold: float) -> str:
    """E.g. "  [unsure: below 50%; runner-up square 38.20%]"."""
    note = f"  [unsure: below {threshold:.0%}"
    if prediction.runner_up is not None:
        name, probability = prediction.runner_up
        note += f"; runner-up {printable(name)} {probability:.2%}"
    return note + "]"


def cmd_runs(args: argparse.Namespace) -> int:
    from workbench.runs import default_runs_root, list_runs

    root = Path(args.runs_dir).expanduser() if args.runs_dir else default_runs_root()
    if args.runs_dir and not root.is_dir():
        return _fail(f"{root} is not a folder", 2)
    runs = list_runs(root)
    if args.json:
        print(json.dumps([{"name": r.name, "path": str(r.path), "created": r.created.isoformat(" "),
                           "model": r.model, "dataset": r.dataset, "epochs_run": r.epochs_run,
                           "best_metric": r.best_metric, "best_value": r.best_value,
                           "status": r.status, "note": r.note} for r in runs], indent=2))
        return 0
    if not runs:
        print(f"No runs in {printable(root)}.")
        return 0
    header = ("NAME", "DATE", "MODEL", "DATASET", "EPOCHS", "BEST", "STATUS", "NOTE")
    rows = [tuple(printable(cell) for cell in (
                r.name, r.created.strftime("%Y-%m-%d %H:%M"), r.model, Path(r.dataset).name,
                str(r.epochs_run), _best(r.best_metric, r.best_value), r.status, r.note))
            for r in runs]
    if not any(r.note for r in runs):  # the NOTE column only when a run has damaged files
        header, rows = header[:-1], [row[:-1] for row in rows]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"\n{len(runs)} run(s) in {printable(root)}")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from datetime import datetime

    from workbench.data import disk_cache

    root = disk_cache.decoded_root()
    entries = disk_cache.list_entries(root)
    if args.action == "clear":
        removed = [e for e in entries if disk_cache.remove_entry(e, root)]
        kept = len(entries) - len(removed)
        print(f"Removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'} "
              f"({sum(e.bytes for e in removed) / 2**20:,.1f} MB) from {printable(root)}"
              + (f"; {kept} in use by a running process kept." if kept else "."))
        return 0
    if args.json:
        print(json.dumps([{"key": e.key, "path": str(e.location), "state": e.state, "folder": e.folder,
                           "image_size": e.image_size, "images": e.images, "bytes": e.bytes,
                           "last_used": datetime.fromtimestamp(e.last_used).isoformat(" ", "seconds")}
                          for e in reversed(entries)], indent=2))
        return 0
    if not entries:
        print(f"The disk cache ({printable(root)}) is empty.")
        return 0
    for e in reversed(entries):  # most recently used first
        used = datetime.fromtimestamp(e.last_used).strftime("%Y-%m-%d %H:%M")
        what = (f"{printable(e.folder)}  {e.image_size} px  {e.images} images" if e.state == "ready"
                else f"({e.state} fill)")
        print(f"{used}  {e.bytes / 2**20:>9,.1f} MB  {e.state:<11}  {what}")
    print(f"\n{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, "
          f"{sum(e.bytes for e in entries) / 2**20:,.1f} MB in {printable(root)}")
    return 0


def _best(metric: str | None, value: float | None) -> str:
    if metric is None or value is None:
        return "-"
    if metric == "val_accuracy":
        return f"val_acc {value:.1%}"
    return f"{metric} {value:.4f}"
