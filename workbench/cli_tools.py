"""The ``export``, ``predict`` and ``runs`` subcommands: what to do with a run after training.

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
    predict.add_argument("--json", action="store_true", help="print JSON instead of text")
    predict.add_argument("--tta", action="store_true",
                         help="test-time augmentation: average each image's prediction with its mirror "
                              "image's (left-right; for classes that look the same mirrored)")
    predict.add_argument("--trust-torchscript", action="store_true",
                         help="load a TorchScript file this installation did not export. Loading "
                              "TorchScript runs the code inside the file: only for files you trust "
                              "(ONNX and safetensors hold no code)")
    predict.set_defaults(func=cmd_predict)

    runs = sub.add_parser("runs", help="list past runs, newest first",
                          description="List the runs in the runs folder: name, date, model, dataset, "
                                      "epochs run, best metric and status.")
    runs.add_argument("--runs-dir", help="folder that holds runs (default: your data directory)")
    runs.add_argument("--json", action="store_true", help="print JSON instead of a table")
    runs.set_defaults(func=cmd_runs)


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
    try:
        predictor = Predictor.load(args.model, checkpoint=args.checkpoint,
                                   trust_torchscript=args.trust_torchscript)
    except WeightsError as exc:
        return _fail(str(exc))
    files, skipped = expand_image_paths(args.images)
    results = []
    if files:
        try:
            results = predictor.predict(files, args.top_k, on_skip=lambda i, r: skipped.append((i, r)),
                                        tta=args.tta)
        except UnreadableImagesError:
            pass  # every file is in ``skipped`` already
        except WeightsError as exc:  # the model's output does not match its metadata
            return _fail(str(exc))
    if args.json:
        print(json.dumps({
            "model": predictor.source, "class_names": predictor.class_names, "tta": args.tta,
            "predictions": [{"image": r.image, "top": [{"class": c, "probability": p} for c, p in r.top]}
                            for r in results],
            "skipped": [{"image": i, "reason": r} for i, r in skipped]}, indent=2))
    else:
        for r in results:
            print(printable(r.image))
            names = [printable(c) for c, _ in r.top]
            width = max(len(n) for n in names)
            for rank, (name, (_, probability)) in enumerate(zip(names, r.top, strict=True), start=1):
                print(f"  {rank}. {name:<{width}}  {probability:7.2%}")
    if skipped:
        print(f"Skipped {len(skipped)} input(s):", file=sys.stderr)
        for image, reason in skipped:
            print(f"  {printable(image)}: {printable(reason)}", file=sys.stderr)
    if not results:
        return _fail("no image could be predicted")
    return 0


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


def _best(metric: str | None, value: float | None) -> str:
    if metric is None or value is None:
        return "-"
    if metric == "val_accuracy":
        return f"val_acc {value:.1%}"
    return f"{metric} {value:.4f}"
