#!/usr/bin/env python
"""Does the window cost training speed, and does training freeze the window?

Trains the same configuration in one process, side by side, round after round: headless (the
engine as ``workbench train`` runs it), through the real window (offscreen Qt, worker thread, live
plots), and through the window again with a stall-measuring timer. Prints the GUI-run ÷ CLI-run
training throughput (target ≥ 0.97) and the longest stall of the window's event loop during the
watched run, measured by a 10 ms timer that records its lateness (target < 100 ms).

    python benchmarks/bench_gui.py [--epochs 6] [--image-size 64] [--model small_cnn] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def throughput(history: list[dict]) -> float:
    """Median training images/s over the epochs after the first (which fills the cache)."""
    return statistics.median(h["images_per_sec"] for h in history[1:])


def cli_run(config, out: str) -> float:
    from workbench.engine.events import EpochEnd
    from workbench.engine.trainer import Trainer

    history: list[dict] = []
    trainer = Trainer(config, out=out)
    trainer.subscribe(lambda e: isinstance(e, EpochEnd) and history.append(e.data))
    trainer.run()
    return throughput(history)


def gui_run(app, config, runs_dir: str, watch: bool) -> tuple[float, float, int]:
    """Train through the window. With ``watch``, a 10 ms timer measures event-loop stalls; it
    wakes the GUI thread 100 times a second, so throughput is taken from runs without it."""
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from workbench.gui.main_window import MainWindow

    window = MainWindow(settings=QSettings(f"{runs_dir}/settings.ini", QSettings.Format.IniFormat))
    window.settings.setValue("runs_dir", runs_dir)
    window.show()
    loop = QEventLoop()
    window.datasetOpened.connect(lambda _scan: loop.quit())
    window.open_dataset(config.data_dir)
    loop.exec()
    window.form.set_config(config)
    history: list[dict] = []
    window.session.signals.epoch.connect(lambda e: history.append(e.data))
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(now - last[0] - 0.010)
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    window.runFinished.connect(lambda _summary: loop.quit())
    window.start_training()
    last[0] = time.perf_counter()
    if watch:
        timer.start()
    loop.exec()
    timer.stop()
    window.controller.wait()
    window.close()
    return throughput(history), max(lateness, default=0.0), len(lateness)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--rounds", type=int, default=2, help="CLI/GUI pairs, interleaved")
    args = parser.parse_args()

    from workbench.config import TrainConfig
    from workbench.gui.app import make_application
    from workbench.resources_path import sample_data_dir

    app = make_application([])
    config = TrainConfig(data_dir=str(sample_data_dir()), model=args.model, epochs=args.epochs,
                         image_size=args.image_size, early_stopping=False)
    cli, gui, stalls = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            cli.append(cli_run(config, f"{tmp}/cli{r}"))
            gui.append(gui_run(app, config, f"{tmp}/gui{r}", watch=False)[0])
            _speed, stall, ticks = gui_run(app, config, f"{tmp}/watched{r}", watch=True)
            stalls.append(stall)
            print(f"round {r + 1}: CLI {cli[-1]:.0f} img/s, GUI {gui[-1]:.0f} img/s, "
                  f"longest stall {stall * 1000:.0f} ms over {ticks} ticks", flush=True)
    ratio = statistics.median(g / c for g, c in zip(gui, cli, strict=True))
    print(f"\n{args.model} at {args.image_size} px, {args.epochs} epochs on the sample data")
    print(f"GUI-run ÷ CLI-run throughput: {ratio:.3f}   (target ≥ 0.97)")
    print(f"longest event-loop stall:     {max(stalls) * 1000:.0f} ms (target < 100 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
