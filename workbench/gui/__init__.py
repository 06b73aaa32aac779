"""The desktop window (PySide6 + pyqtgraph): the only package that imports Qt."""

import sys


def _import_pyqtgraph_without_cuda_bindings() -> None:
    """pyqtgraph's RawImageWidget (which the window does not use) imports CUDA's Python bindings
    when they are installed, as they are with PyPI's CUDA torch: 40 ms before the window can
    appear. Its import is refused (it then does without) and allowed again for torch after."""
    name = "cuda.bindings.runtime"
    if name in sys.modules:
        return
    sys.modules[name] = None  # "import cuda.bindings.runtime" raises ImportError
    try:
        import pyqtgraph  # noqa: F401
    finally:
        if sys.modules.get(name, 0) is None:
            del sys.modules[name]


_import_pyqtgraph_without_cuda_bindings()

from workbench.gui.app import run_app  # noqa: E402

__all__ = ["MainWindow", "run_app"]


def __getattr__(name: str):
    # MainWindow pulls in every view; import it only when asked for.
    if name == "MainWindow":
        from workbench.gui.main_window import MainWindow

        return MainWindow
    raise AttributeError(name)
