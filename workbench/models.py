"""Architecture registry: building a classifier for N classes, its weights, freezing and normalisation."""

from __future__ import annotations

import functools
import urllib.error
from pathlib import Path

import torch
from torch import nn

from workbench import timm_models

# The specs, layer groups and names live in model_registry, which the window reads before torch loads.
from workbench.model_registry import (  # noqa: F401 — re-exported
    MODEL_NAMES,
    MODELS,
    LayerGroup,
    ModelSpec,
    drop_path_problem,
    model_problems,
)
from workbench.timm_models import is_timm

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SCRATCH_MEAN = (0.5, 0.5, 0.5)
SCRATCH_STD = (0.5, 0.5, 0.5)


class WeightsError(RuntimeError):
    """Pretrained or local weights could not be obtained or do not fit the model."""


class SmallCNN(nn.Module):
    """Four conv blocks and a linear head: trains in seconds on CPU at 32–64 px.

    Global max pooling (not average) keeps the strongest local evidence of a part, e.g. a corner,
    which generalises far better than averaging on small datasets of shapes.
    """

    def __init__(self, num_classes: int, width: int = 32):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            # A small dataset gives few steps per epoch; faster-moving batch-norm statistics
            # (momentum 0.3, not 0.1) keep validation in step with the weights early on.
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout, momentum=0.3),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.features = nn.Sequential(
            block(3, width), block(width, width * 2), block(width * 2, width * 4),
            block(width * 4, width * 4),
        )
        self.head = nn.Sequential(
            nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(width * 4, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def normalization(name: str, pretrained: bool, weights_path: str | None = None):
    """Mean and std the model's weights expect: ImageNet's for torchvision weights, the model's
    own (its pretrained_cfg) for timm's, 0.5 from scratch."""
    if is_timm(name) and (pretrained or weights_path):
        return timm_models.normalization(name)
    if name != "small_cnn" and (pretrained or weights_path):
        return IMAGENET_MEAN, IMAGENET_STD
    return SCRATCH_MEAN, SCRATCH_STD


def build_model(
    name: str,
    num_classes: int,
    *,
    pretrained: bool = False,
    weights_path: str | None = None,
    image_size: int = 224,
    dropout: float | None = None,
    drop_path: float | None = None,
    log=print,
) -> nn.Module:
    """A model of architecture ``name`` with a fresh ``num_classes`` head.

    Pretrained weights come from torchvision's weights API (downloaded once into the torch hub
    cache), or timm's for ``timm:`` names (from the Hugging Face hub); ``weights_path`` loads a
    local ``.safetensors`` / ``.pt`` file instead. ``dropout`` (before the classifier) and
    ``drop_path`` (stochastic depth) replace the architecture's own rates when given (timm models
    take them as ``drop_rate`` / ``drop_path_rate``); neither changes the weights' names, so a model
    built without them loads the same weights (exports and predictions build it so: both are off in
    eval mode).
    """
    if is_timm(name):
        model = timm_models.build(name, num_classes, pretrained=pretrained, image_size=image_size,
                                  log=log, drop_rate=dropout or 0.0, drop_path_rate=drop_path or 0.0)
        if weights_path:
            load_weights_file(model, weights_path, log=log)
        return model
    if name not in MODELS:
        raise ValueError(model_problems(name, image_size, pretrained)[0])
    spec = MODELS[name]
    if drop_path is not None and not spec.drop_path_kwarg:
        raise ValueError(drop_path_problem(name)[0])
    if name == "small_cnn":
        model: nn.Module = SmallCNN(num_classes)
    else:
        import torchvision

        kwargs = {"image_size": image_size} if name == "vit_b_16" else {}
        if drop_path is not None:
            kwargs[spec.drop_path_kwarg] = drop_path
        model = torchvision.models.get_model(name, weights=None, **kwargs)
        if pretrained:
            model.load_state_dict(_download_pretrained(name))
            log(f"Loaded ImageNet weights for {name}.")
        _replace_head(model, spec.head, num_classes)
        raise_batchnorm_momentum(model)
    if dropout is not None:
        set_head_dropout(model, spec.head, dropout)
    if weights_path:
        load_weights_file(model, weights_path, log=log)
    return model


# The weight of each batch in batch norm's running statistics, which validation, prediction and
# export use. torchvision builds MobileNetV3 (and EfficientNet B5-B7) with 0.01, the Keras/TF
# decay of 0.99 meant for ImageNet's hundreds of thousands of steps: the statistics then trail
# the weights by ~100 steps, and on a small dataset (tens of steps an epoch) validation sees
# statistics of weights long gone (issue 15: mobilenet_v3_small at chance in every epoch while
# training accuracy climbed; 0.53 with 0.1). PyTorch's default 0.1 (a ~10-step window) is what
# the ResNets, EfficientNet-B0 and RegNet already use.
# Fine-tuning gets it too: frozen layers are in eval mode (their statistics do not move at all),
# and a layer that trains changes its inputs' statistics as fast as from scratch, on the same few
# steps, so ImageNet's statistics are only a good start, not something to hold on to.
BATCHNORM_MOMENTUM = 0.1


def raise_batchnorm_momentum(model: nn.Module, momentum: float = BATCHNORM_MOMENTUM) -> None:
    """Give every batch-norm layer whose running statistics move slower than ``momentum`` that
    momentum (faster ones, e.g. SmallCNN's 0.3, keep theirs)."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if module.momentum is not None and module.momentum < momentum:
                module.momentum = momentum


def _download_pretrained(name: str) -> dict[str, torch.Tensor]:
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    try:
        return weights.get_state_dict(progress=False, check_hash=True)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        raise WeightsError(
            f"Could not download pretrained weights for {name} ({exc}). This computer seems to be "
            f"offline. Either train without pretrained weights, or download {weights.url} on a "
            f"machine with internet access and choose it as a local weights file."
        ) from exc


def _replace_head(model: nn.Module, head_path: str, num_classes: int) -> None:
    parent_path, _, attr = head_path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    old = getattr(parent, attr) if not attr.isdigit() else parent[int(attr)]
    new = nn.Linear(old.in_features, num_classes)
    if attr.isdigit():
        parent[int(attr)] = new
    else:
        setattr(parent, attr, new)


class DropoutLinear(nn.Linear):
    """A classifier layer with dropout on its input. The dropout has no weights, so the state
    dict is a plain Linear's: checkpoints load into a model built with or without it."""

    def __init__(self, in_features: int, out_features: int, p: float):
        super().__init__(in_features, out_features)
        self.dropout = nn.Dropout(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.dropout(x))


def set_head_dropout(model: nn.Module, head_path: str, p: float) -> None:
    """Dropout of rate ``p`` right before the classifier at ``head_path``: the architecture's own
    dropout layer there gets the rate (MobileNetV3, EfficientNet), else the classifier becomes a
    :class:`DropoutLinear` with the same weights."""
    parent_path, _, attr = head_path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    if attr.isdigit() and int(attr) > 0 and isinstance(parent[int(attr) - 1], nn.Dropout):
        parent[int(attr) - 1].p = p
        return
    old = getattr(parent, attr) if not attr.isdigit() else parent[int(attr)]
    new = DropoutLinear(old.in_features, old.out_features, p).to(old.weight.device, old.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(old.weight)
        new.bias.copy_(old.bias)
    if attr.isdigit():
        parent[int(attr)] = new
    else:
        setattr(parent, attr, new)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from a weights file without ever running pickled code, its declared size checked first."""
    from workbench.model_limits import check_declared_size  # imports this module: not at the top

    path = Path(path)
    if path.is_file():
        check_declared_size(path, "safetensors" if path.suffix == ".safetensors" else "pt")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 — unpickling errors have many types
        raise WeightsError(refusal_message(path, exc)) from exc
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        data = data["model"]  # a Workbench checkpoint
    return tensors_only(data, path)


def tensors_only(data, path: str | Path) -> dict[str, torch.Tensor]:
    """``data`` if it is a state_dict of tensors, else a WeightsError naming ``path``."""
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise WeightsError(f"{path} does not contain a state_dict of tensors")
    return data


def refusal_message(path: str | Path, exc: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` failed, without torch's advice to retry unsafely."""
    if isinstance(exc, OSError):
        return f"Cannot read {path}: {exc.strerror or exc}"
    return (f"Refused to load {path}: it is not a plain weights file ({exc.__class__.__name__}). "
            "Workbench only loads tensors (weights_only=True or safetensors), never pickled code.")


def load_weights_file(model: nn.Module, path: str | Path, log=print) -> None:
    """Load matching tensors from ``path``; layers whose shape differs (the head) keep fresh weights."""
    state = read_state_dict(path)
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:
        raise WeightsError(f"{path} has no weights that fit this model; is it the same architecture?")
    model.load_state_dict(usable, strict=False)
    skipped = len(own) - len(usable)
    log(f"Loaded {len(usable)} tensors from {Path(path).name}" + (
        f"; {skipped} kept their fresh values (e.g. the new classifier head)." if skipped else "."))


def layer_groups(model: nn.Module, name: str) -> list[tuple[str, list[nn.Parameter]]]:
    """The model's parameters in layer groups, from the stem to the last stage, then ``"head"``.

    Every parameter is in exactly one group (a ValueError names one that is in none); within a
    group they keep the model's order.
    """
    groups = _group_prefixes(name)
    out: list[tuple[str, list[nn.Parameter]]] = [(group, []) for group, _ in groups]
    for pname, param in model.named_parameters():
        index = _group_of(groups, pname)
        if index is None:
            raise ValueError(f"parameter {pname} of {name} is in none of its layer groups")
        out[index][1].append(param)
    return out


def layer_group_names(name: str) -> list[str]:
    """The names of ``name``'s layer groups, stem first, ``"head"`` last."""
    return [group for group, _ in _group_prefixes(name)]


def set_trainable_groups(model: nn.Module, name: str, trainable: int | None) -> None:
    """Train only the last ``trainable`` layer groups (1: the head alone; None: every group).

    Batch-norm layers of the frozen groups are kept in eval mode (as Keras does for
    non-trainable layers) so their running statistics stay those of the pretrained weights.
    """
    groups = _group_prefixes(name)
    first_trainable = 0 if trainable is None else max(len(groups) - trainable, 0)
    # Anything outside every group counts as the backbone's first layers: frozen with them.
    for pname, param in model.named_parameters():
        param.requires_grad_((_group_of(groups, pname) or 0) >= first_trainable)
    model.train()
    for mname, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if (_group_of(groups, mname) or 0) < first_trainable:
                module.eval()


def set_backbone_frozen(model: nn.Module, name: str, frozen: bool) -> None:
    """Freeze every parameter except the classifier's (transfer learning), or unfreeze all."""
    set_trainable_groups(model, name, 1 if frozen else None)


def _group_prefixes(name: str) -> list[LayerGroup]:
    if is_timm(name):
        return list(timm_models.layer_groups(name))
    spec = MODELS[name]
    return [*spec.layers, ("head", (spec.trainable_with_frozen_backbone.rstrip("."),))]


def _group_of(groups: list[LayerGroup], dotted: str) -> int | None:
    """The index of the group a parameter (or module) name belongs to; None when in none."""
    for index, (_, prefixes) in enumerate(groups):
        if any(dotted == p or dotted.startswith(p + ".") for p in prefixes):
            return index
    return None


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@functools.lru_cache(maxsize=64)
def parameter_count(name: str, num_classes: int, image_size: int = 224) -> int:
    """Parameters of ``name`` with a ``num_classes`` head, counted on the meta device (no memory,
    no weights), so the window can show it for every architecture instantly."""
    try:
        with torch.device("meta"):
            model = build_model(name, num_classes, image_size=image_size, log=lambda _m: None)
    except NotImplementedError:  # a builder that computes with tensors (regnet): build for real
        model = build_model(name, num_classes, image_size=image_size, log=lambda _m: None)
    return count_parameters(model)
