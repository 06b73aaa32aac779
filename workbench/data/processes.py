"""Work on many image files in parallel processes.

PIL decodes and parses headers largely under the GIL, so threads share one core between them;
processes use every core the machine has. The work functions live in modules that import PIL and
numpy only (no torch), so a process starts in a fraction of a second on every platform.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any


def worker_processes(workers: int, items: int, per_process: int) -> int:
    """How many processes to use: at most ``workers`` and the CPU's cores, and only when there
    are at least ``per_process`` items for each (a process costs a fraction of a second to
    start); 0 means: work in this process."""
    cores = os.cpu_count() or 1
    count = min(max(workers, 1), cores, items // max(per_process, 1))
    return count if count >= 2 else 0


def run_chunks(work: Callable[[Any], Any], chunks: Sequence[Any], processes: int,
               on_done: Callable[[int, Any], None]) -> None:
    """``work(chunk)`` for every chunk, in ``processes`` processes (0: in this one), calling
    ``on_done(index, result)`` here as each chunk finishes (in any order)."""
    if processes <= 0:
        for i, chunk in enumerate(chunks):
            on_done(i, work(chunk))
        return
    # The platform's default start method, as the streaming DataLoader's workers use it.
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context()) as pool:
        futures = {pool.submit(work, chunk): i for i, chunk in enumerate(chunks)}
        try:
            for future in as_completed(futures):
                on_done(futures[future], future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise
