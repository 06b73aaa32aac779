"""SIGKILL at random moments, ≥ 20 times, each trial resuming the run the previous one was killed in.

The work is done by benchmarks/kill_resume.py (which can run more trials and prints the counts);
it checks after every kill that each checkpoint loads, config.json reads and metrics.csv agrees
with last.pt, and at the end that a plain `workbench train --resume RUN` finishes the run with
metrics.csv epochs 1..N continuous and without duplicates.
"""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _kill_resume():
    spec = importlib.util.spec_from_file_location("kill_resume", ROOT / "benchmarks" / "kill_resume.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_twenty_random_sigkills_lose_nothing_and_resume_finishes_the_run(tmp_path):
    lines = []
    counts = _kill_resume().run_trials(trials=22, epochs=60, seed=0, work=tmp_path, log=lines.append)
    print("\n".join(lines))
    assert counts["killed"] >= 20, counts
    # Some kills landed while a file was half-written: its temporary file was still there.
    assert counts["killed_mid_write"] >= 3, counts
    assert all(counts[f"mode_{m}"] >= 4 for m in ("startup", "epoch", "checkpoint", "write")), counts
