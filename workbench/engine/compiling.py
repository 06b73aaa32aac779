"""Whether to compile the model with ``torch.compile`` (the ``compile_model`` setting).

Compiling costs time up front (tens of seconds to minutes on a CPU: the first training batch and
the first validation batch each compile) and may make later batches faster. ``auto`` compiles
only the (device type, model) pairs measured to win within a typical run, compile time
included, by ``benchmarks/bench_compile.py`` (results in ``benchmarks/results/compile.json``).
"""

from __future__ import annotations

from torch import nn

# Measured wins by device type. CPU (2-core machine, torch 2.14, 64 px, batch 32): no model paid
# back its compile time within a typical run (see benchmarks/README.md); CUDA and MPS are not
# measured yet, so auto leaves them eager too.
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
