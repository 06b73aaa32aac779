"""Loading torch and the engine after the window has appeared.

Importing torch, torchvision and the engine takes seconds (it is most of a cold start), and the
window needs none of it to show a folder or the settings, so it shows first and they load on a
pool thread. An import holds the GIL while it runs module code, which a 1 ms switch interval
breaks into short slices; what it cannot break is a C call, and the longest ones are the
``dlopen`` of torch's shared libraries (hundreds of megabytes to map and relocate, static
initialisers registering thousands of operators: ~300 ms with the GIL held, measured on a 2-core
machine). ``ctypes.CDLL`` holds the GIL around its ``dlopen`` (Python 3.11), but a foreign call
through ctypes releases it, so the libraries are opened first by calling libc's ``dlopen``; the
``import`` that follows finds them loaded and only runs the Python-side initialisation.
While a ``dlopen`` runs it holds the dynamic loader's lock, and the GUI thread's first paints
wait on that lock (e.g. loading a font or plugin) while holding the GIL: 280 ms stalls when the
load began at the first paint. So the load begins once the GUI thread has been idle for a
moment (``start_when_idle``), and the augmentation preview waits for it rather than importing
torch itself. The other long stalls were garbage collections walking the imports' objects: the
window collects nothing until the load has ended (gui/garbage.py).
"""

from __future__ import annotations

import ctypes
import gc
import glob
import importlib
import importlib.util
import os
import sys
import threading
import time

from PySide6.QtCore import QObject, QTimer, Signal

from workbench.gui.offthread import run_in_pool

# What the window's actions use (training, studies, export, Try it, the augmentation preview).
# A run's callbacks import TensorBoard's writer and the image hashes (scipy) when they start: here
# instead, so those imports' objects are in the heap gc.freeze() sets aside (see _on_loaded).
ENGINE_MODULES = ("workbench.engine.trainer", "workbench.models", "workbench.data.preview",
                  "workbench.export", "workbench.predict", "workbench.studies.lr_find",
                  "torch.utils.tensorboard", "workbench.data.image_hashes")
# Extension modules whose shared libraries are opened ahead of their import, without the GIL.
_EXTENSIONS = {"torch": ("_C*.so", "lib/libtorch_python.so"), "torchvision": ("_C*.so", "image*.so")}


def _dlopen_without_gil():
    """``dlopen(path) -> handle or None`` as a ctypes foreign call (which releases the GIL), or
    ``ctypes.CDLL`` where there is no libc ``dlopen`` (Windows)."""
    try:
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen
    except (OSError, AttributeError, TypeError):
        return lambda path: ctypes.CDLL(path)._handle
    dlopen.argtypes, dlopen.restype = [ctypes.c_char_p, ctypes.c_int], ctypes.c_void_p
    # RTLD_NOW with local symbols: the flags an extension module's import uses.
    flags = os.RTLD_NOW | getattr(os, "RTLD_LOCAL", 0)
    return lambda path: dlopen(os.fsencode(path), flags)


def preload_shared_libraries() -> list[str]:
    """Open torch's and torchvision's shared libraries (and, through them, their dependencies)
    with the GIL released; what was opened, for the log. A library that will not open is left
    to the import, which then reports the real error."""
    opened = []
    dlopen = _dlopen_without_gil()
    for package, patterns in _EXTENSIONS.items():
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        folder = os.path.dirname(spec.origin)
        for pattern in patterns:
            for path in sorted(glob.glob(os.path.join(folder, pattern))):
                try:
                    if dlopen(path):
                        opened.append(path)
                except OSError:
                    pass
    return opened


def engine_imported() -> bool:
    return all(name in sys.modules for name in ENGINE_MODULES)


def load_engine() -> int:
    """Import what training needs; the number of CUDA GPUs the window can train on at once."""
    if not engine_imported():
        preload_shared_libraries()
        for name in ENGINE_MODULES:
            importlib.import_module(name)
    from workbench.gui.settings_form import _cuda_device_count

    return _cuda_device_count()


class EngineLoader(QObject):
    """``start()`` loads the engine off the GUI thread; ``loaded(gpus)`` or ``failed(message)``
    follows on the GUI thread. ``load_now()`` finishes it on the calling thread instead."""

    loaded = Signal(int)  # CUDA GPUs available
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.is_loaded = False
        self.started = False
        self.error: str | None = None
        self._done = threading.Event()  # set by the pool thread when its imports have ended
        self._idle_timer: QTimer | None = None  # start_when_idle's watch of the GUI thread

    def start_when_idle(self, quiet_ms: int = 200, at_most_ms: int = 3000, tick_ms: int = 25) -> None:
        """``start()`` once the GUI thread has kept a ``tick_ms`` timer on time for ``quiet_ms``
        (the window's first layout and paints are done), or ``at_most_ms`` from now."""
        if self.started or self._idle_timer is not None:
            return
        deadline = time.monotonic() + at_most_ms / 1000
        state = {"last": time.monotonic(), "quiet": 0.0}
        timer = self._idle_timer = QTimer(self, interval=tick_ms)

        def tick() -> None:
            now = time.monotonic()
            late = now - state["last"] - tick_ms / 1000
            state["last"] = now
            state["quiet"] = state["quiet"] + tick_ms if late < 0.010 else 0.0
            if state["quiet"] >= quiet_ms or now >= deadline or self.started:
                timer.stop()
                if not self.started:
                    self.start()

        timer.timeout.connect(tick)
        timer.start()

    def start(self) -> None:
        self.started = True
        done = self._done

        def load() -> int:
            try:
                return load_engine()
            finally:
                done.set()

        run_in_pool(load, self._on_loaded, self._on_failed, owner=self)

    def loading(self) -> bool:
        """Started in the background and not yet ended."""
        return self.started and not self._done.is_set()

    def wait_for_background_load(self, timeout: float = 120) -> None:
        """Block until a started load has ended: an interpreter that exits while a thread is
        still importing torch fails in torch's own clean-up (``'NoneType' object is not callable``)."""
        if self.started:
            self._done.wait(timeout)

    def load_now(self) -> bool:
        """Wait for the load (the imports block until the pool thread's finish); True if loaded."""
        if not self.is_loaded:
            try:
                self._on_loaded(load_engine())
            except Exception as exc:  # noqa: BLE001 — the same message the pool would have sent
                self._on_failed(str(exc) or exc.__class__.__name__)
        return self.is_loaded

    def _on_loaded(self, gpus: int) -> None:
        if not self.is_loaded:
            # The imports made a few hundred thousand objects that live as long as the process. The
            # window collects garbage on its own thread (gui/garbage.py); left in the collected
            # generations they made one young-generation collection during the first run take
            # ~300 ms (a frozen window). Frozen, no collection walks them again.
            gc.freeze()
            self.is_loaded, self.error = True, None
            self.loaded.emit(gpus)

    def _on_failed(self, message: str) -> None:
        if not self.is_loaded:
            self.error = message
            self.failed.emit(message)
