"""Whether to compile the model with ``torch.compile`` (the ``compile_model`` setting).

Compiling costs time up front (tens of seconds to minutes on a CPU: the first training batch and
the first validation batch each compile) and may make later batches faster. ``auto`` compiles
only the (device type, model) pairs measured to win within a typical run, compile time
included, by ``benchmarks/bench_compile.py`` (results in ``benchmarks/results/compile.json``).
"""

from __future__ import annotations

from torch import nn

# Measured wins by device type; auto compiles nothing else. None is listed yet: on the 2-core
# shared CPU this was written on, bench_compile.py had not finished compiling even small_cnn
# after 10 minutes (the machine's load was ~20), far more than a typical small_cnn run, and CUDA
# and MPS have not been measured. Add a pair here only with a bench_compile.py result to show.
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
