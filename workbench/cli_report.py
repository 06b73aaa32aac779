"""``workbench report RUN|CV|STUDY [--out FILE.html]``: the one-file HTML report."""

from __future__ import annotations

import argparse
import sys

from workbench.safe_text import printable, printable_lines


def register(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "report", help="write one self-contained HTML report of a run, a cross-validation or a search study",
        description="Settings, dataset and scan report, curves, best epoch and why training stopped, "
                    "cross-validation evidence, confusion matrix, per-class metrics, test results, "
                    "calibration, misclassified examples, the dataset audit and the environment, in one "
                    "HTML file with its images embedded (it opens offline, anywhere).")
    report.add_argument("source", metavar="RUN|CV|STUDY",
                        help="a run folder, a cross-validation study folder or a search study folder")
    report.add_argument("--out", metavar="FILE.html", help="where to write it (default: SOURCE/report.html)")
    report.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from workbench.report import ReportError, write_report

    try:
        path = write_report(args.source, args.out)
    except ReportError as exc:
        print(f"error: {printable_lines(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write the report: {printable(exc)}", file=sys.stderr)
        return 1
    print(f"Report written to {printable(path)}")
    return 0
