"""Whether to compile the model with ``torch.compile`` (the ``compile_model`` setting).

Compiling costs time up front (tens of seconds to minutes on a CPU: the first training batch and
the first validation batch each compile) and may make later batches faster. ``auto`` compiles
only the (device type, model) pairs measured to win within a typical run, compile time
included, by ``benchmarks/bench_compile.py`` (results in ``benchmarks/results/compile.json``).
"""

from __future__ import annotations

from torch import nn

# Measured wins by device type; auto compiles nothing else. None on CPU: on a quiet 2-core AMD
# EPYC (benchmarks/README.md, every registry model) compiling cost 14-87 s and saved at most
# 18 s of a typical run (vit_b_16), and resnet18/50 and efficientnet_b0 stepped slower compiled.
# CUDA and MPS have not been measured. Add a pair here only with a bench_compile.py result.
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
