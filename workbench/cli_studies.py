"""Commands that run studies on the same settings as ``train``: ``lr-find`` (the learning-rate
range test) and ``cv`` (k-fold cross-validation). Every ``train`` setting flag works here too."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction, add_config_flags, non_empty, formatter) -> None:
    lr_find = sub.add_parser(
        "lr-find", help="find a learning rate (range test)", formatter_class=formatter,
        description="Sweep the learning rate exponentially over a bounded number of steps (at most "
                    "one epoch), record the smoothed loss and suggest a rate, naming the rule used. "
                    "Writes lr_find.json and lr_find.png into the output folder.")
    lr_find.add_argument("data_dir", nargs="?", default=None, type=non_empty("the image folder"),
                         help="folder with one subfolder per class (default: the bundled sample data)")
    lr_find.add_argument("--config", type=non_empty("--config"), help="JSON file with settings")
    lr_find.add_argument("--out", type=non_empty("--out"),
                         help="folder to write the sweep into (default: a new one under RUNS/lr-find)")
    lr_find.add_argument("--runs-dir", type=non_empty("--runs-dir"), help="folder that holds runs")
    lr_find.add_argument("--iterations", type=int, default=100, metavar="N",
                         help="optimizer steps in the sweep (default 100; at most one epoch)")
    lr_find.add_argument("--start-lr", type=float, default=1e-7, metavar="X", help="first rate (1e-7)")
    lr_find.add_argument("--end-lr", type=float, default=10.0, metavar="X", help="last rate (10)")
    lr_find.add_argument("--quiet", action="store_true", help="print only the suggestion")
    add_config_flags(lr_find)
    lr_find.set_defaults(func=cmd_lr_find, resume=None)

    cv = sub.add_parser(
        "cv", help="cross-validate: learning curves over k folds and a recommended epoch count",
        formatter_class=formatter,
        description="Train the settings on K stratified folds (each a run folder in the study folder), "
                    "average the validation curves and recommend a number of epochs (one-standard-error "
                    "rule). Folds train the whole epoch budget unless --early-stopping is given. Writes "
                    "cv_summary.json and oof.npz (out-of-fold probabilities).")
    cv.add_argument("data_dir", nargs="?", default=None, type=non_empty("the image folder"),
                    help="folder with one subfolder per class (default: the bundled sample data)")
    cv.add_argument("--folds", type=int, default=5, metavar="K", help="number of folds (default 5)")
    cv.add_argument("--config", type=non_empty("--config"), help="JSON file with settings")
    cv.add_argument("--out", type=non_empty("--out"),
                    help="study folder to create (default: a new one under RUNS/cv)")
    cv.add_argument("--runs-dir", type=non_empty("--runs-dir"), help="folder that holds runs")
    cv.add_argument("--resume", metavar="CV", type=non_empty("--resume"),
                    help="continue the study in CV: finished folds are kept")
    cv.add_argument("--quiet", action="store_true", help="print only the result")
    add_config_flags(cv)
    cv.set_defaults(func=cmd_cv)


def cmd_lr_find(args: argparse.Namespace) -> int:
    from workbench.cli import config_from_args
    from workbench.engine import events as ev
    from workbench.studies.lr_find import find_learning_rate

    def show(event) -> None:
        if isinstance(event, ev.Log) and not args.quiet:
            print(event.message, file=sys.stderr)

    result = find_learning_rate(config_from_args(args), args.out, start_lr=args.start_lr,
                                end_lr=args.end_lr, iterations=args.iterations,
                                runs_root=args.runs_dir, subscribe=show)
    if args.quiet:
        print(result.describe())  # otherwise the log above said it
    print(f"Sweep written to {result.out} (lr_find.json, lr_find.png)")
    return 0 if result.suggested_lr is not None else 1


def cmd_cv(args: argparse.Namespace) -> int:
    import signal
    import time
    from pathlib import Path

    from workbench.cli import ProgressPrinter, config_from_args
    from workbench.config import TrainConfig
    from workbench.engine import events as ev
    from workbench.runs import default_runs_root
    from workbench.session import TrainingSession
    from workbench.studies.cross_validation import CrossValidation, describe

    if args.resume:
        study = CrossValidation(TrainConfig(), args.resume, resume=True)
    else:
        out = args.out or (Path(args.runs_dir) if args.runs_dir else default_runs_root()) / "cv" / \
            time.strftime("%Y%m%d-%H%M%S")
        study = CrossValidation(config_from_args(_no_resume(args)), out, args.folds,
                                early_stopping=args.early_stopping is True)
    session = TrainingSession()
    ProgressPrinter(session, quiet=args.quiet)

    def follow(event) -> None:
        if isinstance(event, ev.FoldStart):
            session.reset()
            if not args.quiet:
                print(f"Fold {event.fold} of {event.folds}: {event.run_dir}", file=sys.stderr)
        session.handle(event)

    study.subscribe(follow)

    def stop(signum, frame) -> None:
        print("\nStopping the study after the current batch (resume it with --resume)…", file=sys.stderr)
        study.request_stop()

    try:
        signal.signal(signal.SIGINT, stop)
    except ValueError:
        pass  # not the main thread
    summary = study.run()
    print(describe(summary))
    print(f"Study folder: {study.out} (cv_summary.json, oof.npz, fold-1 … fold-{study.folds})")
    if summary.get("recommended_epochs"):
        print(f"Final model on every image but the test set: workbench train --config "
              f"{study.out / 'study_config.json'} --epochs {summary['recommended_epochs']} "
              "--val-fraction 0 --no-early-stopping")
    return 0 if summary["complete"] else 1


def _no_resume(args: argparse.Namespace) -> argparse.Namespace:
    """config_from_args reads --resume as a run folder; for a study it means the study folder."""
    return argparse.Namespace(**{**vars(args), "resume": None})
