"""Kill `workbench train` with SIGKILL at random moments, resume each time, and check nothing is lost.

Every trial resumes the run the previous trial was killed in (the first one starts it), and kills
the process at one of these moments, in rotation with random delays:

    startup     0-2.5 s after the process starts (imports, scan, decoding, resume), at the latest
                when the trial's first epoch ends
    epoch       a random moment of the trial's second epoch (mid-batch, mid-evaluation, writes)
    checkpoint  the instant the n-th checkpoint temporary file of the trial appears (mid-write)
    write       the same for any file of the run folder (checkpoints, metrics.csv, summary.json)

After every kill: each checkpoint file on disk loads with the weights_only loader, config.json
reads, metrics.csv holds epochs 1..k without a gap or a duplicate and agrees with last.pt's
history. At the end a plain `workbench train --resume RUN` must finish the run, with metrics.csv
epochs 1..EPOCHS continuous across every break.

    python benchmarks/kill_resume.py [--trials 22] [--epochs 60] [--seed 0] [--keep DIR] [--spawn]

Each trial runs the real command line (``workbench.cli.main(["train", ...])``) in a process forked
from a helper that has imported torch once, so a trial costs its training, not 3-5 s of imports;
``--spawn`` starts every trial as a fresh ``python -m workbench train`` instead. The final resume
is always a fresh ``python -m workbench train --resume RUN``.

Prints one line per trial and the counts; exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("startup", "epoch", "checkpoint", "write")


def make_data(out: Path) -> Path:
    """4 classes × 6 shape images at 32 px from the sample-data generator: epochs of milliseconds."""
    path = ROOT / "resources" / "sample_data" / "make_sample_data.py"
    spec = importlib.util.spec_from_file_location("make_sample_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_sample_dataset(out, per_class=6, size=32, seed=3)
    return out


def train_args(data: Path, run: Path, epochs: int, resume: bool) -> list[str]:
    if resume:
        return ["train", "--resume", str(run)]
    return ["train", str(data), "--out", str(run), "--epochs", str(epochs), "--image-size", "16",
            "--batch-size", "6", "--workers", "1", "--no-early-stopping", "--seed", "0"]


class _Spawned:
    """A trial as a fresh ``python -m workbench`` process."""

    def __init__(self, argv: list[str], stderr: Path, cwd: Path, env: dict):
        self._fh = open(stderr, "w")  # noqa: SIM115 — closed in wait()
        self._proc = subprocess.Popen([sys.executable, "-m", "workbench", *argv], stdout=subprocess.DEVNULL,
                                      stderr=self._fh, cwd=cwd, env=env)
        self.pid = self._proc.pid

    def poll(self) -> int | None:
        return self._proc.poll()

    def wait(self) -> int:
        code = self._proc.wait()
        self._fh.close()
        return code


class _Forker:
    """A helper process that imports workbench and torch once, then forks one child per trial; each
    child runs ``workbench.cli.main(argv)`` with its stderr in a file, exactly as the command does."""

    def __init__(self, env: dict):
        self._proc = subprocess.Popen([sys.executable, __file__, "--zygote"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, env=env)
        self._replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._proc.stdout:
            self._replies.put(json.loads(line))

    def start(self, argv: list[str], stderr: Path, cwd: Path, _env=None) -> _Forked:
        self._proc.stdin.write(json.dumps({"argv": argv, "stderr": str(stderr), "cwd": str(cwd)}) + "\n")
        self._proc.stdin.flush()
        return _Forked(self._replies.get(timeout=300)["pid"], self._replies)

    def close(self) -> None:
        self._proc.stdin.close()
        self._proc.wait(timeout=60)


class _Forked:
    def __init__(self, pid: int, replies: queue.Queue):
        self.pid, self._replies, self._code = pid, replies, None

    def poll(self) -> int | None:
        if self._code is None:
            try:
                self._code = self._replies.get_nowait()["status"]
            except queue.Empty:
                pass
        return self._code

    def wait(self) -> int:
        if self._code is None:
            self._code = self._replies.get(timeout=600)["status"]
        return self._code


def _zygote() -> None:
    import traceback

    import workbench.cli
    import workbench.engine.trainer  # noqa: F401 — the slow imports, done once before forking

    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.dup2(os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
                os.chdir(request["cwd"])
                code = workbench.cli.main(request["argv"])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 — reported through the exit status and stderr
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code or 0)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"status": os.waitstatus_to_exitcode(status)}), flush=True)


class _Watcher:
    """Follows the child's stderr file: when training began (the "Training …" log line) and when
    each epoch ended ("Epoch k/N: …")."""

    def __init__(self, path: Path, proc):
        self.training = threading.Event()
        self.training_at = 0.0
        self.epoch_ends: list[float] = []
        self.lines: list[str] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._follow, args=(path, proc), daemon=True)
        self._thread.start()

    def _follow(self, path: Path, proc) -> None:
        with open(path, errors="replace") as fh:
            while True:
                line = fh.readline()
                if line:
                    self.lines.append(line.rstrip())
                    if line.startswith("Training "):
                        self.training_at = time.monotonic()
                        self.training.set()
                    elif line.startswith("Epoch ") and self.training.is_set():
                        self.epoch_ends.append(time.monotonic())
                elif self._done.is_set():
                    return
                else:
                    time.sleep(0.01)

    def join(self) -> None:
        self._done.set()
        self._thread.join(timeout=10)


def _temp_files(folder: Path, recursive: bool) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = [n for n in names if n.endswith(".tmp")]
    if recursive and "checkpoints" in names:
        found += _temp_files(folder / "checkpoints", False)
    return found


def _kill_when(mode: str, proc, watcher: _Watcher, run: Path, rng: random.Random,
               timeout: float = 120.0) -> str:
    """Wait for the moment ``mode`` picks, then SIGKILL. Returns what was seen at the kill."""
    deadline = time.monotonic() + timeout

    def alive() -> bool:
        return proc.poll() is None and time.monotonic() < deadline

    # Each trial moves the run on by a few epochs at most, whatever the machine's speed, so the
    # trials never finish the run: the kill moments are counted in epochs, not seconds.
    if mode == "startup":  # imports, scan, decoding, resume: at most into the first epoch
        until = time.monotonic() + rng.uniform(0.0, 2.5)
        while alive() and time.monotonic() < until and not watcher.epoch_ends:
            time.sleep(0.01)
    elif mode == "epoch":  # a random moment of the trial's second epoch (training, evaluation, writes)
        while alive() and not watcher.epoch_ends:
            time.sleep(0.005)
        if watcher.epoch_ends:
            time.sleep(rng.uniform(0.0, 1.0) * (watcher.epoch_ends[0] - watcher.training_at))
    else:
        # Kill during the n-th file write of this trial, so that some trials get an epoch or two on.
        nth = rng.randint(1, 3 if mode == "checkpoint" else 5)
        while alive() and not watcher.training.wait(0.05):
            pass
        folder = run / "checkpoints" if mode == "checkpoint" else run
        writes: set[str] = set()
        while alive():
            now = _temp_files(folder, recursive=mode == "write")
            writes.update(now)
            if now and len(writes) >= nth:
                break
            time.sleep(0)  # poll as fast as possible, yielding the CPU to the child
    seen = ",".join(_temp_files(run, recursive=True))
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it finished a moment ago
    proc.wait()
    return seen


def check_run_folder(run: Path, final: bool = False, epochs: int | None = None) -> int:
    """Every file of ``run`` that a resume relies on is whole; returns the epochs it holds."""
    from workbench.config import TrainConfig
    from workbench.engine.checkpoint import load_checkpoint
    from workbench.runs import RunFolder

    folder = RunFolder(run)
    TrainConfig.load_json(folder.config_path)
    states = {p.stem: load_checkpoint(p) for p in sorted((run / "checkpoints").glob("*.pt"))}
    rows = folder.read_metrics()
    done = [r["epoch"] for r in rows]
    assert done == list(range(1, len(done) + 1)), f"metrics.csv epochs not 1..k: {done}"
    last = states.get("last")
    if last is None:
        assert not done, f"metrics.csv has epochs {done} but there is no last.pt"
        return 0
    epoch = int(last["epoch"])
    assert [h["epoch"] for h in last["history"]] == list(range(1, epoch + 1))
    # metrics.csv is written just after last.pt: a kill in between leaves it one epoch behind.
    assert len(done) in (epoch - 1, epoch), f"metrics.csv has {len(done)} epochs, last.pt {epoch}"
    for row, kept in zip(rows, last["history"], strict=False):
        for key in ("train_loss", "val_loss", "val_acc"):
            assert math.isclose(row[key], kept[key], rel_tol=1e-4, abs_tol=1e-6), (row, kept)
    if "best" in states:
        assert int(states["best"]["epoch"]) <= epoch + 1
    if final:
        assert epoch == epochs and len(done) == epochs, f"finished at {epoch}/{len(done)}, not {epochs}"
        summary = folder.read_json(folder.summary_path)
        assert summary["status"] == "finished", summary["stop_reason"]
    return epoch


def run_trials(trials: int = 22, epochs: int = 60, seed: int = 0, work: Path | None = None,
               log=print, spawn: bool = False) -> dict:
    """Run the trials and the final resume; raise AssertionError on the first broken check."""
    rng = random.Random(seed)
    work = Path(work or tempfile.mkdtemp(prefix="kill_resume_"))
    data = make_data(work / "data")
    run = work / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    modes = [MODES[i % len(MODES)] for i in range(trials)]
    rng.shuffle(modes)
    if modes and modes[0] == "startup":  # the first trial must get as far as writing config.json
        modes[0] = "epoch"
    counts = {"trials": 0, "killed": 0, "killed_mid_write": 0, "finished_before_kill": 0,
              "stale_temp_files_seen": 0, **{f"mode_{m}": 0 for m in MODES}}
    started = time.perf_counter()
    launcher = None if spawn else _Forker(env)
    try:
        for trial, mode in enumerate(modes, start=1):
            _trial(trial, mode, launcher, data, run, epochs, work, env, rng, counts, log)
    finally:
        if launcher is not None:
            launcher.close()
    final = subprocess.run([sys.executable, "-m", "workbench", *train_args(data, run, epochs, resume=True)],
                           capture_output=True, text=True, env=env, cwd=work, timeout=900)
    assert final.returncode == 0 and "Traceback" not in final.stderr, final.stderr[-3000:]
    assert not _temp_files(run, recursive=True), "resume left temporary files"
    check_run_folder(run, final=True, epochs=epochs)
    counts["seconds"] = round(time.perf_counter() - started, 1)
    counts["run"] = str(run)
    log(json.dumps(counts))
    return counts


def _trial(trial, mode, launcher, data, run, epochs, work, env, rng, counts, log) -> None:
    resume = (run / "config.json").exists()
    stderr = work / f"trial_{trial:02d}.log"
    stderr.write_text("")
    argv = train_args(data, run, epochs, resume)
    earlier = set(_temp_files(run, recursive=True))  # left by the previous kill, until resume clears them
    proc = launcher.start(argv, stderr, work) if launcher else _Spawned(argv, stderr, work, env)
    watcher = _Watcher(stderr, proc)
    seen = _kill_when(mode, proc, watcher, run, rng)
    watcher.join()
    code = proc.wait()
    counts["trials"] += 1
    counts[f"mode_{mode}"] += 1
    if code == -signal.SIGKILL:
        counts["killed"] += 1
    else:
        counts["finished_before_kill"] += 1
        assert code == 0, "\n".join(watcher.lines[-20:])
    left = _temp_files(run, recursive=True)
    counts["stale_temp_files_seen"] += len(left)
    counts["killed_mid_write"] += bool(set(left) - earlier)
    epoch = check_run_folder(run) if (run / "config.json").exists() else 0
    log(f"trial {trial:2d} {mode:<10} killed={code == -signal.SIGKILL!s:<5} "
        f"temp at kill: {seen or '-':<34} left: {','.join(left) or '-':<30} last.pt epoch {epoch}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=22)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    parser.add_argument("--spawn", action="store_true", help="a fresh python process per trial")
    parser.add_argument("--zygote", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.zygote:
        _zygote()
        return 0
    try:
        run_trials(args.trials, args.epochs, args.seed, args.keep, spawn=args.spawn)
    except AssertionError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
