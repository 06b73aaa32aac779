"""The leakage warning before training: duplicate images on both sides of the run's split."""

from __future__ import annotations

import time

from workbench.data.duplicates import describe_leakage, leakage_in
from workbench.data.prepare import DataSplit
from workbench.engine.callbacks.base import Callback


class LeakageCheck(Callback):
    """In ``on_setup`` (the split is made, nothing is trained yet) hash the run's images through
    the shared cache and log a warning naming the duplicates that cross train / val / test. Only
    ever warns: a copy in two splits is the user's to resolve, and it must not stop a run."""

    def __init__(self, max_distance: int):
        self.max_distance = max_distance
        self.leaks: list = []

    def on_setup(self, run) -> None:
        if not run.dist.is_main:
            return
        data = run.data
        split = DataSplit(*(_samples(source) for source in (data.train, data.val, data.test)))
        started = time.perf_counter()
        self.leaks = leakage_in(split, self.max_distance)
        for line in describe_leakage(self.leaks):
            run.log(line)
        seconds = time.perf_counter() - started
        if seconds > 5:
            run.log(f"The leakage check took {seconds:.0f} s (hashes are cached for the next run; "
                    "turn it off with --no-leakage-check).")


def _samples(source) -> list[tuple[str, int]]:
    return [] if source is None else [(path, 0) for path in source.paths]
