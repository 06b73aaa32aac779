"""The built-in architectures: names, heads and layer groups. No torch here: the window lists the
models (and the CLI its --model choices) before torch is loaded; workbench.models builds them."""

from __future__ import annotations

from dataclasses import dataclass

# A layer group: its name and the parameter-name prefixes (module paths, or a parameter's own
# name) it holds.
LayerGroup = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    head: str  # dotted path of the final Linear layer, replaced for N classes
    trainable_with_frozen_backbone: str  # parameter-name prefix left trainable while frozen
    description: str
    # The backbone's layer groups from the input (stem) to the last stage; the head (every
    # parameter under trainable_with_frozen_backbone) is the group after them. Gradual unfreezing
    # releases them from the top and layer-wise learning rates decay along them.
    layers: tuple[LayerGroup, ...] = ()
    # The builder's keyword for stochastic depth ("" where the architecture has none).
    drop_path_kwarg: str = ""


def _stages(parent: str, *stages: tuple[str, range]) -> tuple[LayerGroup, ...]:
    """Groups of consecutive children of ``parent`` (``features.0`` …), one per stage."""
    return tuple((name, tuple(f"{parent}.{i}" for i in blocks)) for name, blocks in stages)


# Stages end where the resolution halves (as ResNet's layer1-4 do: 1/4 … 1/32 of the input); the
# layer that halves it opens the stage, as timm groups ConvNeXt's downsampling layers.
_RESNET = (("stem", ("conv1", "bn1")), *((f"layer{i}", (f"layer{i}",)) for i in range(1, 5)))
_SPECS = [
    ModelSpec("small_cnn", "head.2", "head.", "Small built-in CNN (~0.24 M params) for quick runs",
              _stages("features", *((f"block{i + 1}", range(i, i + 1)) for i in range(4)))),
    ModelSpec("resnet18", "fc", "fc.", "ResNet-18", _RESNET),
    ModelSpec("resnet50", "fc", "fc.", "ResNet-50", _RESNET),
    ModelSpec("mobilenet_v3_small", "classifier.3", "classifier.", "MobileNetV3 small",
              _stages("features", ("stem", range(0, 1)), ("stage1", range(1, 2)), ("stage2", range(2, 4)),
                      ("stage3", range(4, 9)), ("stage4", range(9, 13)))),
    ModelSpec("mobilenet_v3_large", "classifier.3", "classifier.", "MobileNetV3 large",
              _stages("features", ("stem", range(0, 2)), ("stage1", range(2, 4)), ("stage2", range(4, 7)),
                      ("stage3", range(7, 13)), ("stage4", range(13, 17)))),
    ModelSpec("efficientnet_b0", "classifier.1", "classifier.", "EfficientNet-B0",
              _stages("features", ("stem", range(0, 2)), ("stage1", range(2, 3)), ("stage2", range(3, 4)),
                      ("stage3", range(4, 6)), ("stage4", range(6, 9))), "stochastic_depth_prob"),
    ModelSpec("convnext_tiny", "classifier.2", "classifier.", "ConvNeXt tiny",
              _stages("features", ("stem", range(0, 1)), ("stage1", range(1, 2)), ("stage2", range(2, 4)),
                      ("stage3", range(4, 6)), ("stage4", range(6, 8))), "stochastic_depth_prob"),
    ModelSpec("regnet_y_400mf", "fc", "fc.", "RegNetY 400MF",
              (("stem", ("stem",)), *((f"block{i}", (f"trunk_output.block{i}",)) for i in range(1, 5)))),
    # Per encoder block, as timm's layer decay does; the final LayerNorm goes with the last block.
    ModelSpec("vit_b_16", "heads.head", "heads.", "Vision Transformer B/16",
              (("embed", ("class_token", "conv_proj", "encoder.pos_embedding")),
               *((f"encoder_layer_{i}", (f"encoder.layers.encoder_layer_{i}",)) for i in range(11)),
               ("encoder_layer_11", ("encoder.layers.encoder_layer_11", "encoder.ln")))),
]
MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
TIMM_PREFIX = "timm:"  # here, not in timm_models: importing that module imports torch


def model_problems(name: str, image_size: int, pretrained: bool) -> list[str]:
    """Why ``name`` is not a model (unknown name), or the constraints it puts on the settings."""
    if name.startswith(TIMM_PREFIX):
        from workbench import timm_models  # timm (and torch) only for a timm name

        return timm_models.problems(name, pretrained)
    if name not in MODELS:
        return [f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}, or "
                f"{TIMM_PREFIX}NAME for an architecture of the timm library"]
    if name == "vit_b_16":
        if pretrained and image_size != 224:
            return ["vit_b_16 with pretrained weights needs image size 224"]
        if image_size % 16:
            return ["vit_b_16 needs an image size divisible by 16"]
    if name == "small_cnn" and pretrained:
        return ["small_cnn has no pretrained weights; train it from scratch"]
    return []


def drop_path_problem(name: str) -> list[str]:
    """Why stochastic depth cannot be set for ``name`` (empty when it can)."""
    spec = MODELS.get(name)
    if spec is None or spec.drop_path_kwarg:
        return []
    have = ", ".join(s.name for s in MODELS.values() if s.drop_path_kwarg)
    return [f"{name} has no stochastic depth (drop path); leave it unset, or choose an architecture "
            f"that has it ({have})"]
