"""timm's architectures as Workbench models: ``timm:NAME`` (e.g. ``timm:convnext_atto``).

timm (PyTorch Image Models) is the zoo most image-classification users pick from: 1,300+
architectures, many with several pretrained weights (``timm:NAME.TAG``). This module is the
bridge :mod:`workbench.models` uses for every name with the ``timm:`` prefix: checking names
(with close matches for a typo), building with a fresh head, the normalisation the model's weights
expect (its ``pretrained_cfg``), downloading pretrained weights with the same offline message as
torchvision's, and layer groups from timm's own ``group_matcher`` (the grouping timm's layer-wise
learning-rate decay uses).

timm takes seconds to import: it is imported only when a ``timm:`` name is used.
"""

from __future__ import annotations

import difflib
import functools
import urllib.error
from collections.abc import Callable

from torch import nn

from workbench.model_registry import TIMM_PREFIX as PREFIX

# The options Workbench passes on when set (timm's own names); a model that does not take one is
# built without it only when it is 0 (the default).
OPTIONS = ("drop_rate", "drop_path_rate")


class TimmUnavailableError(RuntimeError):
    """timm is not installed in this environment."""


def is_timm(name: str) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def bare(name: str) -> str:
    """``"timm:resnet10t"`` → ``"resnet10t"``."""
    return name[len(PREFIX):]


def _timm():
    try:
        import timm
    except ImportError as exc:  # a build without timm: a clear message, not a traceback
        raise TimmUnavailableError("timm is not installed; timm: models are not available") from exc
    return timm


@functools.cache
def architectures() -> tuple[str, ...]:
    """Every architecture timm can build, sorted (the picker's list)."""
    return tuple(_timm().list_models())


@functools.cache
def _pretrained_names() -> frozenset[str]:
    # "resnet10t.c3_in1k" …: the architectures with weights, each weight by its tag.
    return frozenset(_timm().list_models(pretrained=True))


def name_problems(name: str) -> list[str]:
    """Why ``timm:NAME`` (or ``timm:NAME.TAG``) names nothing timm builds; empty when it does."""
    arch = bare(name)
    try:
        known = architectures()
    except TimmUnavailableError as exc:
        return [str(exc)]
    base, _, tag = arch.partition(".")
    if base in known and (not tag or arch in _pretrained_names()):
        return []
    if base in known:
        tags = sorted(n.partition(".")[2] for n in _pretrained_names() if n.partition(".")[0] == base)
        return [f"timm model {base} has no weights tagged {tag!r}"
                + (f"; its tags are {', '.join(tags)}" if tags else "; it has no pretrained weights")]
    close = difflib.get_close_matches(base, known, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(PREFIX + c for c in close)}?" if close else \
        "; `workbench models --timm` lists them all"
    return [f"unknown timm model {arch!r}{hint}"]


def problems(name: str, pretrained: bool) -> list[str]:
    """Constraints a timm architecture puts on the settings (cheap: nothing is built)."""
    out = name_problems(name)
    if not out and pretrained and not has_pretrained_weights(name):
        out.append(f"{name} has no pretrained weights in timm; train it from scratch")
    return out


def pretrained_cfg(name: str) -> dict:
    """The model's pretrained configuration (input size, mean/std, weights location); {} if none."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(bare(name), allow_unregistered=True)
    return cfg.to_dict() if cfg is not None else {}


@functools.cache
def _with_weights() -> frozenset[str]:
    return frozenset(n.partition(".")[0] for n in _pretrained_names())


def has_pretrained_weights(name: str) -> bool:
    arch = bare(name)
    return arch in _pretrained_names() or arch in _with_weights()


def normalization(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and std the model's pretrained weights were trained with (ImageNet's when unstated)."""
    from workbench.models import IMAGENET_MEAN, IMAGENET_STD

    cfg = pretrained_cfg(name)
    return tuple(cfg.get("mean") or IMAGENET_MEAN), tuple(cfg.get("std") or IMAGENET_STD)


def build(name: str, num_classes: int, *, pretrained: bool, image_size: int,
          log: Callable[[str], None], **options: float) -> nn.Module:
    """timm's ``create_model`` with a ``num_classes`` head; ``options`` are timm's ``drop_rate``
    and ``drop_path_rate`` (passed only when set, as not every architecture takes them)."""
    timm = _timm()
    problems_ = name_problems(name)
    if problems_:
        raise ValueError(problems_[0])
    kwargs = {k: v for k, v in options.items() if v}
    unknown = set(kwargs) - set(OPTIONS)
    if unknown:
        raise TypeError(f"unknown timm model options {sorted(unknown)}")
    if pretrained_cfg(name).get("fixed_input_size"):
        # Vision transformers and their kin size their position embeddings for one input size;
        # timm resamples pretrained ones to the size asked for.
        kwargs["img_size"] = image_size
    try:
        model = timm.create_model(bare(name), pretrained=pretrained, num_classes=num_classes, **kwargs)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        from workbench.models import WeightsError

        raise WeightsError(
            f"Could not download pretrained weights for {name} ({_first_line(exc)}). This computer "
            f"seems to be offline. Either train without pretrained weights, or download "
            f"{weights_url(name)} on a machine with internet access and choose it as a local "
            f"weights file.") from exc
    except (TypeError, ValueError, AssertionError, RuntimeError) as exc:
        # e.g. a window size the input size does not divide, an option the model does not take
        raise ValueError(f"timm cannot build {name} at {image_size} px with these settings: "
                         f"{_first_line(exc)}") from exc
    if pretrained:
        tag = pretrained_cfg(name).get("tag")
        log(f"Loaded timm's pretrained weights for {name}" + (f" ({tag})." if tag else "."))
    return model


def weights_url(name: str) -> str:
    """Where a user can download the model's pretrained weights by hand."""
    cfg = pretrained_cfg(name)
    if cfg.get("hf_hub_id"):
        return f"https://huggingface.co/{cfg['hf_hub_id']} (the model.safetensors file)"
    return cfg.get("url") or f"the weights of {bare(name)} (see huggingface.co/timm)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


# Layer groups ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def layer_groups(name: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The model's layer groups, stem first, ``head`` last, as (name, module-path prefixes).

    From timm's coarse ``group_matcher`` (stem, then one group per stage or block, the classifier
    and what timm keeps with it last), each group written as the shortest module paths that hold
    only its parameters, so batch-norm modules are found by the same prefixes as parameters.
    Built once on the meta device: names only, no memory.
    """
    import torch
    from timm.models import group_parameters

    with torch.device("meta"):
        model = _timm().create_model(bare(name), num_classes=2, **_size_kwargs(name))
    grouped = group_parameters(model, model.group_matcher(coarse=True))  # ordered: stem … head
    members = [list(params) for _, params in sorted(grouped.items())]
    classifier = _classifier_params(model)
    # The classifier must be the last group (the head a frozen backbone still trains).
    members = [[p for p in group if p not in classifier] for group in members]
    members[-1].extend(p for p in model.state_dict() if p in classifier)
    members = [group for group in members if group]
    group_of = {p: i for i, group in enumerate(members) for p in group}
    prefixes = _shortest_prefixes(group_of)
    out = []
    for i, group in enumerate(members):
        own = tuple(dict.fromkeys(prefixes[p] for p in group))
        label = "head" if i == len(members) - 1 else "stem" if i == 0 else own[0]
        out.append((label, own))
    return tuple(out)


def _size_kwargs(name: str) -> dict:
    size = (pretrained_cfg(name).get("input_size") or (3, 224, 224))[-1]
    return {"img_size": size} if pretrained_cfg(name).get("fixed_input_size") else {}


def _classifier_params(model: nn.Module) -> set[str]:
    classifier = model.get_classifier()
    if not isinstance(classifier, nn.Module):  # a few return a tuple (distilled heads)
        parts = [c for c in classifier if isinstance(c, nn.Module)]
    else:
        parts = [classifier]
    ids = {id(p) for part in parts for p in part.parameters()}
    return {n for n, p in model.named_parameters() if id(p) in ids}


def _shortest_prefixes(group_of: dict[str, int]) -> dict[str, str]:
    """For each parameter, the shortest dotted prefix of its name under which every parameter is
    in its group (``layer1`` rather than ``layer1.0.conv1.weight``)."""
    groups_under: dict[str, set[int]] = {}
    for pname, group in group_of.items():
        parts = pname.split(".")
        for k in range(1, len(parts) + 1):
            groups_under.setdefault(".".join(parts[:k]), set()).add(group)
    out = {}
    for pname in group_of:
        parts = pname.split(".")
        out[pname] = next(p for p in (".".join(parts[:k]) for k in range(1, len(parts) + 1))
                          if len(groups_under[p]) == 1)
    return out
