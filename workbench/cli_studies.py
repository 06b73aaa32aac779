"""Commands that run studies on the same settings as ``train``: ``lr-find`` (the learning-rate
range test). Every ``train`` setting flag works here too."""

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
