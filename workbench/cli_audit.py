"""The ``audit`` subcommand: duplicates, leakage across the split and likely label errors.

The split audited is the one ``train`` would make with the same settings (flags, ``--config``,
or the run's / study's own settings with ``--run`` / ``--cv``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workbench.safe_text import printable, printable_lines


def register(sub: argparse._SubParsersAction, add_config_flags, non_empty, formatter) -> None:
    audit = sub.add_parser(
        "audit", help="audit a dataset: duplicates, leakage, likely label errors",
        formatter_class=formatter,
        description="Find exact duplicates (same bytes) and near-duplicates (perceptual hash within "
                    "--near-duplicate-distance bits), duplicates that the train/validation/test split "
                    "puts on both sides (leakage), and, with out-of-sample probabilities, likely label "
                    "errors ranked by cleanlab. --cv STUDY uses a cross-validation study's oof.npz "
                    "(every image checked); --run RUN one run's validation predictions (weaker). "
                    "Writes audit.json.")
    audit.add_argument("data_dir", nargs="?", default=None, type=non_empty("the image folder"),
                       help="folder with one subfolder per class (default: the run's or study's, "
                            "else the bundled sample data)")
    source = audit.add_mutually_exclusive_group()
    source.add_argument("--cv", metavar="STUDY", type=non_empty("--cv"),
                        help="check labels with this cross-validation study's out-of-fold probabilities")
    source.add_argument("--run", metavar="RUN", type=non_empty("--run"),
                        help="check labels with this run's validation predictions (weaker than --cv)")
    audit.add_argument("--config", type=non_empty("--config"), help="JSON file with settings")
    audit.add_argument("--out", type=non_empty("--out"),
                       help="where to write audit.json (a folder, or a file name ending in .json; "
                            "default: STUDY/audit.json with --cv, else audits/<folder>-<hash>/ beside "
                            "the runs folder)")
    audit.add_argument("--json", action="store_true", help="print the audit as JSON")
    add_config_flags(audit)
    audit.set_defaults(func=cmd_audit, resume=None)


def cmd_audit(args: argparse.Namespace) -> int:
    from workbench.audit import (
        AuditError,
        default_audit_path,
        from_cross_validation,
        from_run,
        run_audit,
        summary_lines,
        write_audit,
    )
    from workbench.cli import config_from_args

    given_dir = args.data_dir
    settings_of = None
    if args.cv:
        settings_of = Path(args.cv) / "study_config.json"
    elif args.run:
        settings_of = Path(args.run) / "config.json"
    if settings_of is not None and args.config is None:
        if not settings_of.is_file():
            return _fail(f"{settings_of.parent} is not a {'cross-validation study' if args.cv else 'run'} "
                         f"folder (no {settings_of.name})", 2)
        args.config = str(settings_of)
    config = config_from_args(args)
    if settings_of is not None and given_dir is not None:
        from workbench.config import TrainConfig

        own = TrainConfig.load_json(settings_of).data_dir
        if own and Path(own).resolve() != Path(given_dir).resolve():
            return _fail(f"{settings_of.parent} was trained on {own}, not {given_dir}: its probabilities "
                         "cannot check another folder's labels", 2)
    try:
        probabilities = (from_cross_validation(args.cv) if args.cv else from_run(args.run) if args.run
                         else None)
        audit = run_audit(config, probabilities=probabilities)
    except AuditError as exc:
        return _fail(str(exc))
    out = Path(args.out) if args.out else default_audit_path(audit["dataset"], args.cv)
    if args.out and (out.is_dir() or not out.name.lower().endswith(".json")):
        out = out / "audit.json"
    write_audit(audit, out)
    if args.json:
        print(json.dumps(audit, indent=2))
    else:
        for line in summary_lines(audit):
            print(printable(line))
    print(f"Audit written to {printable(out)}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {printable_lines(message)}", file=sys.stderr)
    return code
