"""The command line: the same engine and the same TrainConfig as the window.

Every TrainConfig field is a ``train`` flag, generated from the dataclass so the two never drift:
``--batch-size``, ``--lr``, ``--aug-rotation-range`` … Precedence: defaults < ``--config FILE``
(or the run's config.json with ``--resume``) < flags given on the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from workbench import __version__
from workbench.config import ConfigError, TrainConfig, all_settings
from workbench.session import epoch_line, format_duration
from workbench.setting import Setting


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:
        return _default_action()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except (ConfigError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from workbench.engine.faults import classify
        from workbench.engine.trainer import USER_ERRORS

        fault = classify(exc)  # out of memory, disk full, unwritable folder: advice, not a traceback
        if fault is None and not isinstance(exc, USER_ERRORS):
            raise
        print(f"error: {fault.message if fault else exc}", file=sys.stderr)
        if fault is not None and fault.cli_hint:
            print(f"hint: {fault.cli_hint}", file=sys.stderr)
        return 1


def _default_action() -> int:
    """No arguments: open the window; without the GUI installed, train on the sample data."""
    if not _display_available():
        print("error: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset). "
              "Train headless with `workbench train`, or set QT_QPA_PLATFORM=offscreen.",
              file=sys.stderr)
        return 2
    try:
        from workbench.gui import run_app  # noqa: PLC0415
    except ImportError:
        print("The window is not available in this build; training on the bundled sample data.",
              file=sys.stderr)
        return main(["train"])
    return run_app()


def _display_available() -> bool:
    # Without a display Qt aborts the process with a core dump; say so plainly instead.
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description="Train image classifiers.")
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command")
    train = sub.add_parser("train", help="train a model (headless)", formatter_class=_HelpFormatter,
                           description="Train an image classifier on a folder of images.")
    train.add_argument("data_dir", nargs="?", default=None, type=_non_empty("the image folder"),
                       help="folder with one subfolder per class (default: the bundled sample data)")
    train.add_argument("--config", type=_non_empty("--config"),
                       help="JSON file with settings (e.g. a run's config.json)")
    train.add_argument("--out", type=_non_empty("--out"),
                       help="run folder to create (default: a new folder under --runs-dir)")
    train.add_argument("--runs-dir", type=_non_empty("--runs-dir"),
                       help="folder that holds runs (default: your data directory)")
    train.add_argument("--resume", metavar="RUN", type=_non_empty("--resume"),
                       help="continue the run folder RUN from last.pt")
    train.add_argument("--quiet", action="store_true", help="print only the summary")
    train.add_argument("--events-jsonl", metavar="PATH", type=_non_empty("--events-jsonl"),
                       help="write every engine event as one JSON line to PATH ('-': stdout; the "
                            "summary lines then go to stderr). Under torchrun only rank 0 writes")
    train.add_argument("--stop-file", metavar="PATH", type=_non_empty("--stop-file"),
                       help="stop after the current batch (all processes) when PATH appears")
    _add_config_flags(train)
    train.set_defaults(func=cmd_train)
    from workbench.cli_tools import register as register_tools

    register_tools(sub)  # export, predict, models, runs, cache
    from workbench.cli_studies import register as register_studies

    register_studies(sub, _add_config_flags, _non_empty, _HelpFormatter)  # lr-find
    from workbench.cli_report import register as register_report

    register_report(sub)  # report
    from workbench.cli_audit import register as register_audit

    register_audit(sub, _add_config_flags, _non_empty, _HelpFormatter)  # audit
    return parser


def _non_empty(what: str):
    """An argparse type refusing "" (e.g. an unset shell variable), which would mean the cwd."""
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{what} needs a path, got an empty string")
        return text
    return parse


class _HelpFormatter(argparse.HelpFormatter):
    """Fills in a registry's choices (the models) only when help is shown: reading them imports
    torch, which would slow every command down by seconds."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        registry = getattr(action, "registry", None)
        text = super()._get_help_string(action)
        return text.replace("{choices}", ", ".join(registry())) if registry and text else text


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting, in a help section per group: ``--batch-size``, ``--aug-rotation-range``."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for path, s in all_settings().items():
        if path == "data_dir":
            continue  # the positional argument
        if s.group not in groups:
            groups[s.group] = parser.add_argument_group(f"{s.group.lower()} settings")
        _add_field_flag(groups[s.group], s, _flag(path, s), _dest(path))


def _flag(path: str, s: Setting) -> str:
    prefix = "aug_" if path.startswith("augment.") else ""
    return "--" + (s.flag or prefix + s.name).replace("_", "-")


def _dest(path: str) -> str:
    return path.replace("augment.", "aug_")


def _add_field_flag(group, s: Setting, flag: str, dest: str) -> None:
    default = ("on" if s.default else "off") if s.kind is bool else "none" if s.default is None else s.default
    allowed = "one of {choices}" if callable(s.choices) else s.allowed_text()
    details = f"{allowed}; default: {default}" if allowed else f"default: {default}"
    help_text = f"{s.help} ({details})".replace("%", "%%")  # argparse %-formats help texts
    if s.kind is bool:
        group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None,
                           help=help_text)
        return
    if s.kind is str:
        choices = s.choices if s.strict_choices else None
        action = group.add_argument(flag, dest=dest, default=None, choices=choices,
                                    metavar=None if choices else "PATH" if s.file_filter else "NAME",
                                    help=help_text)
        action.registry = s.choices if callable(s.choices) else None
        return
    group.add_argument(flag, dest=dest, type=_typed(s.kind, flag), default=None,
                       metavar="N" if s.kind is int else "X", help=help_text)


def _typed(convert, flag: str):
    def parse(text: str):
        try:
            return convert(text)
        except ValueError:
            kind = "a whole number" if convert is int else "a number"
            raise argparse.ArgumentTypeError(f"{flag} needs {kind}, got {text!r}") from None
    return parse


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then the config file (or the resumed run's), then explicit flags."""
    source = args.config or (str(Path(args.resume) / "config.json") if args.resume else None)
    config = TrainConfig.load_json(source) if source else TrainConfig()
    for path in all_settings():
        value = getattr(args, _dest(path), None)
        if value is not None:
            target, name = (config.augment, path[8:]) if path.startswith("augment.") else (config, path)
            setattr(target, name, value)
    if args.data_dir is not None:
        config.data_dir = args.data_dir
    if config.data_dir and config.data_dir.strip():
        # Absolute, so a resumed run (started from anywhere) finds the same folder.
        config.data_dir = os.path.abspath(Path(config.data_dir).expanduser())
    return config.validate()


def cmd_train(args: argparse.Namespace) -> int:
    from workbench.engine import events as ev
    from workbench.engine.trainer import Trainer

    events_file = out = None
    # Under torchrun only rank 0 writes events (torch's RANK; the Trainer confirms it).
    if args.events_jsonl and os.environ.get("RANK", "0") == "0":
        # Opened first, before any folder is made, so a launcher following the events hears of a
        # refusal too (as an Error event) and a bad path refuses the run before it starts.
        to_stdout = args.events_jsonl == "-"
        try:
            events_file = sys.stdout if to_stdout else open(args.events_jsonl, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise ConfigError([f"cannot write the events file {args.events_jsonl}: "
                               f"{exc.strerror or exc}"]) from exc
        out = sys.stderr if to_stdout else sys.stdout
    try:
        try:
            if args.resume and not (Path(args.resume) / "config.json").is_file():
                raise ConfigError([f"{args.resume} is not a Workbench run folder (no config.json)"])
            trainer = Trainer(config_from_args(args), out=args.out, resume=args.resume,
                              runs_root=args.runs_dir)
        except Exception as exc:
            if events_file is not None:
                ev.JsonLinesWriter(events_file)(ev.Error(message=_user_message(exc),
                                                         type=exc.__class__.__name__))
            raise
        return _train(args, trainer, events_file, out or sys.stdout)
    finally:
        if events_file not in (None, sys.stdout):
            events_file.close()


def _user_message(exc: BaseException) -> str:
    from workbench.engine.faults import classify

    fault = classify(exc)
    return fault.message if fault else str(exc)


def _train(args: argparse.Namespace, trainer, events_file, out) -> int:
    from workbench.engine.events import JsonLinesWriter
    from workbench.session import TrainingSession

    main = trainer.dist.is_main  # under torchrun only rank 0 reports; the others train quietly
    session = TrainingSession()
    trainer.subscribe(session.handle)
    printer = ProgressPrinter(session, quiet=args.quiet or not main)
    if events_file is not None and main:
        trainer.subscribe(JsonLinesWriter(events_file))
    if args.stop_file:
        from workbench.engine.stop_file import watch_stop_file

        watch_stop_file(args.stop_file, trainer.request_stop)
    _stop_on_interrupt(trainer)
    summary = trainer.run()
    printer.close()
    if main:
        print(trainer.one_line_summary(summary), file=out)
        print(f"Run folder: {summary['run_dir']}", file=out)
    return 1 if summary["status"] == "failed" else 0


def _stop_on_interrupt(trainer) -> None:
    """First Ctrl+C: finish the current batch and keep the checkpoints. Second: abort.

    Under torchrun, Ctrl+C reaches every process and torchrun follows with SIGTERM: both only
    ask for the stop, which all processes then take after the same batch (torchrun kills
    processes still running 30 s later).
    """
    distributed = trainer.dist.active

    def handler(signum, frame):
        if trainer.stop_requested and not distributed:
            raise KeyboardInterrupt
        if not trainer.stop_requested and trainer.dist.is_main:
            print("\nStopping after the current batch" + ("" if distributed else " (Ctrl+C again to abort)")
                  + "…", file=sys.stderr)
        trainer.request_stop()

    try:
        signal.signal(signal.SIGINT, handler)
        if distributed:
            signal.signal(signal.SIGTERM, handler)
    except ValueError:
        pass  # not the main thread (e.g. called from tests in a worker): no handler


class ProgressPrinter:
    """A view of a :class:`~workbench.session.TrainingSession`: a live progress line on a
    terminal, plain lines otherwise."""

    def __init__(self, session, quiet: bool = False, stream=None):
        self.session = session
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_draw = 0.0
        if quiet:
            return
        signals = session.signals
        signals.log.connect(self._print)
        signals.epoch.connect(self._epoch)
        if self.live:
            signals.cache_progress.connect(lambda e: self._draw(f"Decoding images {e.done}/{e.total}"))
            signals.batch.connect(self._batch)

    def _batch(self, _iteration: int, b) -> None:
        now = time.perf_counter()
        if now - self._last_draw >= 0.1 or b.iteration == b.iterations:
            self._last_draw = now
            self._draw(f"Epoch {b.epoch}/{self.session.epochs}  it {b.iteration}/{b.iterations}  "
                       f"loss {b.loss:.4f}  {b.images_per_sec:.0f} img/s  "
                       f"ETA {format_duration(self.session.eta())}")

    def _epoch(self, e) -> None:
        self._print(epoch_line(e))

    def _draw(self, text: str) -> None:
        self.stream.write("\r\033[K" + text)
        self.stream.flush()

    def _print(self, text: str) -> None:
        self.stream.write(("\r\033[K" if self.live else "") + text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()


def dump_json(data) -> str:
    return json.dumps(data, indent=2, default=str)
