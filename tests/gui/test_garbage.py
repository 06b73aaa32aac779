"""Garbage is collected on the GUI thread only, and a full collection waits while a run trains."""

import gc
import time


def test_collection_is_off_and_full_collections_wait_while_busy(qapp, monkeypatch):
    from workbench.gui.garbage import GuiThreadGarbageCollector

    assert not gc.isenabled()  # make_application (the autouse fixture) turned it off
    collector = GuiThreadGarbageCollector(parent=qapp)
    collector.timer.stop()
    collected = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(generation) or 0)
    monkeypatch.setattr(gc, "get_count", lambda: (10_000, 100, 100))  # every threshold passed
    collector.busy = lambda: True
    collector.check()
    assert collected == [1]  # training: the young generations only
    collector.busy = lambda: False
    collector.check()
    assert collected == [1, 2]  # idle: the full collection
    collector.busy, collector._last_full = (lambda: True), time.monotonic() - 10_000  # long overdue
    collector.check()
    assert collected == [1, 2, 2]
    monkeypatch.setattr(gc, "get_count", lambda: (1, 0, 0))
    collector.check()
    assert collected == [1, 2, 2]  # nothing to do


def test_nothing_is_collected_while_torch_loads(qapp, monkeypatch):
    from workbench.gui.garbage import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector(parent=qapp)
    collector.timer.stop()
    collected = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(generation) or 0)
    monkeypatch.setattr(gc, "get_count", lambda: (10_000, 100, 100))
    collector.paused = lambda: True
    collector.check()
    assert collected == []
    collector.paused = lambda: False
    collector.check()
    assert collected == [2]
