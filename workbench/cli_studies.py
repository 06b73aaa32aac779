"""Commands that run studies on the same settings as ``train``: ``lr-find`` (the learning-rate
range test), ``cv`` (k-fold cross-validation) and ``search`` (Optuna). Every ``train`` setting
flag works here too."""

from __future__ import annotations

import argparse
import sys


def _common(parser, non_empty, *, out_help: str, resume_help: str | None, quiet_help: str) -> None:
    """The arguments every study shares with ``train``: the folder, the settings file, where to
    write, and (for studies that can be continued) ``--resume``."""
    parser.add_argument("data_dir", nargs="?", default=None, type=non_empty("the image folder"),
                        help="folder with one subfolder per class (default: the bundled sample data)")
    parser.add_argument("--config", type=non_empty("--config"), help="JSON file with settings")
    parser.add_argument("--out", type=non_empty("--out"), help=out_help)
    parser.add_argument("--runs-dir", type=non_empty("--runs-dir"), help="folder that holds runs")
    if resume_help:
        parser.add_argument("--resume", metavar="STUDY", type=non_empty("--resume"), help=resume_help)
    parser.add_argument("--quiet", action="store_true", help=quiet_help)


def register(sub: argparse._SubParsersAction, add_config_flags, non_empty, formatter) -> None:
    lr_find = sub.add_parser(
        "lr-find", help="find a learning rate (range test)", formatter_class=formatter,
        description="Sweep the learning rate exponentially over a bounded number of steps (on a small "
                    "set, over several epochs, at most 20), record the smoothed loss and suggest a "
                    "rate, naming the rule used. Writes lr_find.json and lr_find.png into the output "
                    "folder.")
    _common(lr_find, non_empty, out_help="folder to write the sweep into (default: a new one under "
            "RUNS/lr-find)", resume_help=None, quiet_help="print only the suggestion")
    lr_find.add_argument("--iterations", type=int, default=100, metavar="N",
                         help="optimizer steps in the sweep (default 100; at most 20 epochs' worth)")
    lr_find.add_argument("--start-lr", type=float, default=1e-7, metavar="X", help="first rate (1e-7)")
    lr_find.add_argument("--end-lr", type=float, default=10.0, metavar="X", help="last rate (10)")
    add_config_flags(lr_find)
    lr_find.set_defaults(func=cmd_lr_find, resume=None)

    cv = sub.add_parser(
        "cv", help="cross-validate: learning curves over k folds and a recommended epoch count",
        formatter_class=formatter,
        description="Train the settings on K stratified folds (each a run folder in the study folder), "
                    "average the validation curves and recommend a number of epochs (one-standard-error "
                    "rule). Folds train the whole epoch budget unless --early-stopping is given. Writes "
                    "cv_summary.json and oof.npz (out-of-fold probabilities).")
    _common(cv, non_empty, out_help="study folder to create (default: a new one under RUNS/cv)",
            resume_help="continue the study in STUDY: finished folds are kept",
            quiet_help="print only the result")
    cv.add_argument("--folds", type=int, default=5, metavar="K", help="number of folds (default 5)")
    add_config_flags(cv)
    cv.set_defaults(func=cmd_cv)

    search = sub.add_parser(
        "search", help="search settings with Optuna (pruning, resumable, several workers)",
        formatter_class=formatter,
        description="Try N settings drawn from a search space (learning rate, batch size, weight decay, "
                    "optimizer, label smoothing, augmentation strength by default; --space FILE for your "
                    "own), each a run folder in the study folder. Unpromising trials are pruned after an "
                    "epoch. The train flags give the fixed part. Run the same command on several machines "
                    "with one --storage and a shared --out to search together.")
    _common(search, non_empty, out_help="study folder (default: a new one under RUNS/search)",
            resume_help="continue the search in STUDY up to its number of trials",
            quiet_help="print only the result")
    search.add_argument("--trials", type=int, default=20, metavar="N", help="trials to complete (default 20)")
    search.add_argument("--sampler", choices=("tpe", "random", "grid"), default="tpe",
                        help="how settings are drawn (default tpe; grid needs explicit values)")
    search.add_argument("--pruner", choices=("median", "hyperband", "none"), default="median",
                        help="which trials are stopped early (default median)")
    search.add_argument("--space", type=non_empty("--space"), metavar="FILE",
                        help="search space as JSON or YAML: "
                             "{setting: {type, low, high, log | choices | values}}")
    search.add_argument("--storage", type=non_empty("--storage"), metavar="URL",
                        help="Optuna storage (default: sqlite:///STUDY/study.db; journal:PATH for a "
                             "journal file; postgresql://… for a server)")
    add_config_flags(search)
    search.set_defaults(func=cmd_search)


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
    summary = _run_stoppable(study, "study")
    print(describe(summary))
    print(f"Study folder: {study.out} (cv_summary.json, oof.npz, fold-1 … fold-{study.folds})")
    if summary.get("recommended_epochs"):
        print(f"Final model on every image but the test set: workbench train --config "
              f"{study.out / 'study_config.json'} --epochs {summary['recommended_epochs']} "
              "--val-fraction 0 --no-early-stopping")
    return 0 if summary["complete"] else 1


def _run_stoppable(study, what: str, after: str = "batch"):
    """``study.run()`` with Ctrl+C asking it to stop after the current ``after`` (it can be resumed)."""
    import signal

    def stop(signum, frame) -> None:
        print(f"\nStopping the {what} after the current {after} (resume it with --resume)…", file=sys.stderr)
        study.request_stop()

    try:
        signal.signal(signal.SIGINT, stop)
    except ValueError:
        pass  # not the main thread
    return study.run()


def _no_resume(args: argparse.Namespace) -> argparse.Namespace:
    """config_from_args reads --resume as a run folder; for a study it means the study folder."""
    return argparse.Namespace(**{**vars(args), "resume": None})


def cmd_search(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from workbench.cli import config_from_args
    from workbench.engine import events as ev
    from workbench.runs import default_runs_root
    from workbench.studies.search import Search, describe
    from workbench.studies.search_space import load_space

    if args.resume:
        study = Search(None, args.resume, resume=True, storage=args.storage)
    else:
        out = args.out or (Path(args.runs_dir) if args.runs_dir else default_runs_root()) / "search" / \
            time.strftime("%Y%m%d-%H%M%S")
        study = Search(config_from_args(_no_resume(args)), out, args.trials, sampler=args.sampler,
                       pruner=args.pruner, space=load_space(args.space), storage=args.storage)

    def follow(event) -> None:
        if isinstance(event, ev.Log) and not args.quiet and event.message.startswith("Trial "):
            print(event.message, file=sys.stderr)

    study.subscribe(follow)
    summary = _run_stoppable(study, "search", after="epoch")  # the trial keeps its epoch
    print(describe(summary))
    print(f"Study folder: {study.out} (search_summary.json, trial-*/)")
    return 0 if summary["best"] else 1
