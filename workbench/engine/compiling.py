"""Whether to compile the model with ``torch.compile`` (the ``compile_model`` setting).

Compiling costs time up front (tens of seconds to minutes on a CPU: the first training batch and
the first validation batch each compile) and may make later batches faster. ``auto`` compiles
only the (device type, model) pairs measured to win within a typical run, compile time
included, by ``benchmarks/bench_compile.py`` (results in ``benchmarks/results/compile.json``).
"""

from __future__ import annotations

from torch import nn

# Measured wins by device type; auto compiles nothing else. None on CPU: on a quiet 2-core AMD
# EPYC (benchmarks/README.md) compiling cost 14-58 s and saved 2.5-3.3 s of a typical run for
# small_cnn and mobilenet_v3_small, and resnet18 stepped slower compiled. CUDA and MPS have not
# been measured. Add a pair here only with a bench_compile.py result to show.
COMPILE_PAYS: dict[str, frozenset[str]] = {"cpu": frozenset()}


def should_compile(setting: str, model_name: str, device_type: str) -> bool:
    if setting == "on":
        return True
    if setting == "off":
        return False
    return model_name in COMPILE_PAYS.get(device_type, frozenset())


def compile_in_place(model: nn.Module) -> None:
    """``nn.Module.compile()``: the module itself runs compiled, so its state_dict keys, its
    checkpoints and every caller stay as they are."""
    model.compile()
