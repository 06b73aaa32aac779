#!/usr/bin/env python
"""How long the window takes to appear and to be ready, and how long it freezes while it loads.

Launches the ``workbench`` command (``workbench.cli.main([])``, as a user does) in a fresh
process, five times cold and five times warm, each with a fresh settings folder (a first launch:
it opens on the sample data), and prints the medians of

* launch → visible: from just before the process is started to the main window's first paint;
* launch → ready: until the sample data is scanned and Start is enabled;
* the longest stall of the event loop between visible and ready (a 5 ms timer records how late
  it fires; target < 50 ms).

"Cold" evicts every file of the virtual environment, the Python installation and the project
from the page cache before each launch (``posix_fadvise(POSIX_FADV_DONTNEED)`` on each file),
which is what a reboot does to them, without dropping the rest of the machine's cache.

``--against DIR`` launches another checkout (e.g. ``git worktree add /tmp/before <commit>``) in
turn with this one, launch by launch, so both meet the same machine load; the ratios compare them.

Needs a display: ``xvfb-run -a -s "-screen 0 1400x900x24" python benchmarks/bench_launch.py``.

    python benchmarks/bench_launch.py [--runs 5] [--against DIR] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 120


def evict_from_page_cache(folders: list[Path]) -> int:
    """Ask the kernel to drop every (clean) cached page of the files under ``folders``."""
    evicted = 0
    for folder in folders:
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                try:
                    fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                except OSError:
                    continue
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    evicted += 1
                finally:
                    os.close(fd)
    return evicted


def cached_folders(root: Path) -> list[Path]:
    paths = {Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "purelib", "platlib")}
    paths.add(Path(sys.base_prefix).resolve() / "lib")
    paths.add(root / "workbench")
    paths.add(root / "resources")
    return sorted(p for p in paths if p.exists())


def launch_once(cold: bool, root: Path = ROOT) -> dict:
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data",
                   XDG_CACHE_HOME=f"{home}/cache", PYTHONPATH=str(root))
        if cold:
            os.sync()
            evict_from_page_cache(cached_folders(root))
        env["BENCH_LAUNCH_T0"] = repr(time.time())
        done = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True,
                              text=True, timeout=CHILD_TIMEOUT_S)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"launch failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[-1])


def child() -> int:
    """Runs in the launched process: the workbench command, watched by a timer and a filter."""
    t0 = float(os.environ["BENCH_LAUNCH_T0"])
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    import workbench.gui.app as app_module

    stamps: dict[str, float] = {}
    lateness: list[float] = []

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 — Qt override
            if (event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow)
                    and "visible" not in stamps):
                stamps["visible"] = time.time() - t0
            return False

    make_application = app_module.make_application

    def watched_application(argv=None):
        app = make_application(argv)
        app.bench_filter = FirstPaint()
        app.installEventFilter(app.bench_filter)
        interval = 0.005
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            if "visible" in stamps:
                lateness.append(now - last[0] - interval)
            last[0] = now
            window = next((w for w in app.topLevelWidgets() if hasattr(w, "start_button")), None)
            if (window is not None and "visible" in stamps and window.scan is not None
                    and window.start_button.isEnabled()):
                stamps["ready"] = time.time() - t0
                print(json.dumps({"visible_s": stamps["visible"], "ready_s": stamps["ready"],
                                  "longest_stall_ms": 1000 * max(lateness, default=0.0)}), flush=True)
                window.close()
                app.quit()

        app.bench_timer = QTimer(interval=int(interval * 1000))
        app.bench_timer.timeout.connect(tick)
        app.bench_timer.start()
        return app

    app_module.make_application = watched_application
    assert QApplication.instance() is None
    from workbench.cli import main

    return main([])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", type=Path, help="another checkout, launched in turn with this one")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child()
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise SystemExit("needs a display: run under xvfb-run -a -s '-screen 0 1400x900x24'")
    trees = {"this": ROOT} | ({"against": args.against.resolve()} if args.against else {})
    for root in trees.values():
        launch_once(cold=False, root=root)  # the first launch after a change compiles .pyc files
    results: dict[str, dict] = {}
    for mode in ("cold", "warm"):
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, root in trees.items():
                runs[name].append(launch_once(cold=(mode == "cold"), root=root))
        for name, done in runs.items():
            row = {key: statistics.median(r[key] for r in done) for key in done[0]}
            results[f"{mode} {name}"] = {**row, "runs": done}
    print(f"{'':13} {'visible s':>10} {'ready s':>9} {'longest stall ms':>17}   (median of {args.runs})")
    for label, r in results.items():
        print(f"{label:13} {r['visible_s']:10.2f} {r['ready_s']:9.2f} {r['longest_stall_ms']:17.0f}")
    if args.against:
        for mode in ("cold", "warm"):
            this, other = results[f"{mode} this"], results[f"{mode} against"]
            print(f"{mode}: visible {this['visible_s'] / other['visible_s']:.2f} × and ready "
                  f"{this['ready_s'] / other['ready_s']:.2f} × the other checkout's")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
