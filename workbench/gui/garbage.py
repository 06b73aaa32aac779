"""Python's cyclic garbage collection, on the GUI thread only.

Automatic collection runs on whichever thread happens to allocate. On the training thread it
destroyed leftover Qt objects (plot widgets in reference cycles) and deadlocked against the GUI
thread inside Qt's destructors (seen with py-spy). So automatic collection is off and a timer on
the GUI thread collects instead (pyqtgraph's GarbageCollector does the same), with one change:
a full collection walks the whole heap (torch's objects included; ~250 ms on a 2-core machine),
so while a run trains it waits, up to ``full_every_s``, and happens as soon as training ends.
The timer ticks every 100 ms: the young generation then holds a tenth of a second's allocations
(at 1 s, collecting a whole second's worth of the training thread's objects stalled the window
for up to 119 ms in the stall test; at 100 ms it measured as without any collection, 55–70 ms).
While torch loads in the background (gui/engine_loader.py) nothing is collected: the imports
make objects faster than the young generations can be walked (a generation-1 collection then
took 108 ms), and ``gc.freeze()`` sets them all aside when the load ends.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class GuiThreadGarbageCollector(QObject):
    def __init__(self, interval_ms: int = 100, full_every_s: float = 600.0, parent=None):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.full_every_s = full_every_s
        self.busy: Callable[[], bool] = lambda: False  # the window sets "a run is training"
        self.paused: Callable[[], bool] = lambda: False  # the window sets "torch is loading"
        self._last_full = time.monotonic()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        count0, count1, count2 = gc.get_count()
        t0, t1, t2 = self.thresholds
        if count0 <= t0 or self.paused():
            return
        generation = 0
        if count1 > t1:
            generation = 1
            overdue = time.monotonic() - self._last_full > self.full_every_s
            if count2 > t2 and (not self.busy() or overdue):
                generation = 2
        gc.collect(generation)
        if generation == 2:
            self._last_full = time.monotonic()
