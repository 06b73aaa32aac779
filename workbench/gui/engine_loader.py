"""Loading torch and the engine after the window has appeared.

Importing torch, torchvision and the engine takes seconds (it is most of a cold start), and the
window needs none of it to show a folder or the settings, so it shows first and they load on a
pool thread. An import holds the GIL while it runs module code, which a 1 ms switch interval
breaks into short slices; what it cannot break is a C call, and the longest ones are the
``dlopen`` of torch's shared libraries (hundreds of megabytes to map and relocate, static
initialisers registering thousands of operators). ``ctypes.CDLL`` releases the GIL around
``dlopen``, so the libraries are opened through it first; the ``import`` that follows finds them
loaded and only runs the Python-side initialisation.
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

from PySide6.QtCore import QObject, Signal

from workbench.gui.offthread import run_in_pool

# What the window's actions use (training, studies, export, Try it, the augmentation preview).
# A run's callbacks import TensorBoard's writer and the image hashes (scipy) when they start: here
# instead, so those imports' objects are in the heap gc.freeze() sets aside (see _on_loaded).
ENGINE_MODULES = ("workbench.engine.trainer", "workbench.models", "workbench.data.preview",
                  "workbench.export", "workbench.predict", "workbench.studies.lr_find",
                  "torch.utils.tensorboard", "workbench.data.image_hashes")
# Extension modules whose shared libraries are opened ahead of their import, without the GIL.
_EXTENSIONS = {"torch": ("_C*.so", "lib/libtorch_python.so"), "torchvision": ("_C*.so", "image*.so")}


def preload_shared_libraries() -> list[str]:
    """Open torch's and torchvision's shared libraries (and, through them, their dependencies)
    with the GIL released; what was opened, for the log. A library that will not open is left
    to the import, which then reports the real error."""
    opened = []
    for package, patterns in _EXTENSIONS.items():
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        folder = os.path.dirname(spec.origin)
        for pattern in patterns:
            for path in sorted(glob.glob(os.path.join(folder, pattern))):
                try:
                    ctypes.CDLL(path)
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

    def start(self) -> None:
        self.started = True
        done = self._done

        def load() -> int:
            try:
                return load_engine()
            finally:
                done.set()

        run_in_pool(load, self._on_loaded, self._on_failed, owner=self)

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
