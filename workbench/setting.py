"""What a setting means and allows, declared once beside its config field.

Each ``TrainConfig`` / ``AugmentConfig`` field is declared with :func:`setting`, which puts a
:class:`Setting` in the field's metadata. The per-field checks, the strict reading of JSON, the CLI
flags and their help, and the settings form's widgets are all derived from it, so adding a setting
is one declaration. The value type and whether None is allowed come from the field's annotation.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_KINDS = {"bool": bool, "int": int, "float": float, "str": str}


@dataclass(frozen=True)
class Setting:
    label: str  # as the form shows it; lower-cased, it names the setting in problem messages
    help: str  # one or two sentences for a newcomer: tooltip and CLI help
    group: str  # the form's box; also the CLI help's section
    unit: str = ""  # "px", "epochs", "MB", "°" …
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    # Allowed strings; a function for a registry that is expensive to import (models: torch).
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()
    decimals: int = 2  # form: digits after the point of a number
    step: float = 1  # form: arrow-key step
    log_scale: bool = False  # form: steps proportional to the value (learning rates, decays)
    advanced: bool = False  # form: shown only with "Show advanced settings"
    flag: str = ""  # CLI flag name when not the field's name
    file_filter: str = ""  # form: a file chooser with this Qt name filter
    in_form: bool = True  # False: set elsewhere (the image folder comes from the Dataset panel)
    bounds_words: str = ""  # the range in words when the generic wording would mislead
    # Filled in from the dataclass field by settings_of():
    name: str = ""
    kind: type = str
    optional: bool = False  # None allowed: "not set"
    default: Any = None

    @property
    def noun(self) -> str:
        """The label as it reads inside a sentence: "Batch size" -> "batch size"."""
        return self.label[:1].lower() + self.label[1:] if self.label[1:2].islower() else self.label

    def options(self) -> tuple[str, ...]:
        return self.choices() if callable(self.choices) else self.choices

    @property
    def strict_choices(self) -> bool:
        """Whether the generic checks (and argparse) refuse other strings; a registry's choices are
        checked by the config's own cross-field checks, with their own message."""
        return isinstance(self.choices, tuple) and bool(self.choices)

    def bounds_text(self) -> str:
        """The allowed range in words, e.g. "between 1 and 100000", "> 0 and ≤ 10", "≥ 0"."""
        if self.bounds_words:
            return self.bounds_words
        low = None if self.min is None else ("≥ " if self.min_inclusive else "> ") + _num(self.min)
        high = None if self.max is None else ("≤ " if self.max_inclusive else "< ") + _num(self.max)
        if low and high and self.min_inclusive == self.max_inclusive:
            open_ = "" if self.min_inclusive else " (exclusive)"
            return f"between {_num(self.min)} and {_num(self.max)}{open_}"
        return " and ".join(part for part in (low, high) if part)

    def allowed_text(self) -> str:
        """What the value may be, for help texts: "between 16 and 1024 px", "one of a, b"."""
        if self.options():
            return "one of " + ", ".join(self.options())
        text = self.bounds_text()
        return f"{text} {self.unit}".strip() if text else self.unit


def setting(default: Any, label: str, help: str, group: str, **details: Any) -> Any:
    """A dataclass field with its Setting: ``epochs: int = setting(10, "Epochs", "…", "Training")``."""
    return dataclasses.field(default=default, metadata={"setting": Setting(label, help, group, **details)})


@functools.cache
def settings_of(cls: type) -> dict[str, Setting]:
    """Each field's Setting by field name, with type, optional and default filled in from the
    declaration. Fields without one (a nested config such as ``augment``) are left out."""
    out = {}
    for f in dataclasses.fields(cls):
        if "setting" in f.metadata:
            parts = {part.strip() for part in str(f.type).split("|")}
            (kind,) = parts - {"None"}
            out[f.name] = dataclasses.replace(f.metadata["setting"], name=f.name, kind=_KINDS[kind],
                                              optional="None" in parts, default=f.default)
    return out


def type_problem(s: Setting, value: Any, name: str) -> str | None:
    """Why ``value`` has the wrong type for ``s``, or None. Strict, as JSON is read: "15" is not
    15, "false" not False, 1 not True; only a whole number is fine where a number is."""
    if value is None and s.optional:
        return None
    if s.kind is bool:
        ok, wanted = isinstance(value, bool), "true or false"
    elif s.kind is int:
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif s.kind is float:
        ok, wanted = _is_number(value), "a number"
    else:
        ok, wanted = isinstance(value, str), "text"
    if ok:
        return None
    return f"{name} must be {wanted}{' or empty' if s.optional else ''}, got {_show(value)}"


def value_problem(s: Setting, value: Any) -> str | None:
    """Why a value of the right type is out of range or not a choice, or None."""
    if value is None or s.kind is bool:
        return None
    if s.kind is str:
        if s.strict_choices and value not in s.choices:
            return f"{s.noun} must be one of {', '.join(s.choices)}, got {value!r}"
        return None
    low_ok = s.min is None or (value >= s.min if s.min_inclusive else value > s.min)
    high_ok = s.max is None or (value <= s.max if s.max_inclusive else value < s.max)
    if low_ok and high_ok and _finite(value):
        return None
    text = s.bounds_text()
    if s.kind is float and s.max is None:  # an upper bound alone says "finite" (and NaN fails it)
        text = f"a finite number {text}".strip() + (" or empty" if s.optional else "")
    return f"{s.noun} must be {text}, got {_show(value)}"


def problems_of(obj: Any) -> dict[str, str]:
    """The per-field problem of each field of a config dataclass that has one."""
    out = {}
    for name, s in settings_of(type(obj)).items():
        value = getattr(obj, name)
        problem = type_problem(s, value, s.noun) or value_problem(s, value)
        if problem:
            out[name] = problem
    return out


def read_json(cls: type, data: dict, prefix: str = "") -> tuple[dict[str, Any], list[str]]:
    """The keyword arguments for ``cls`` from a JSON object, and every reason to refuse it:
    unknown keys and wrong types, each naming the setting as the file spells it."""
    known = settings_of(cls)
    problems = [f"unknown setting {prefix}{key!r}" for key in sorted(set(data) - set(known), key=str)]
    values = {}
    for key, value in data.items():
        s = known.get(key)
        if s is None:
            continue
        problem = type_problem(s, value, prefix + key)
        if problem is None and s.kind is float and isinstance(value, int):
            try:
                value = float(value)  # the config holds floats; JSON may write 1 for 1.0
            except OverflowError:
                problem = f"{prefix}{key} is too large a number"
        if problem:
            problems.append(problem)
        values[key] = value
    return values, problems


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    # Ints are always finite (and math.isfinite would overflow on huge ones).
    return not isinstance(value, float) or math.isfinite(value)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60


def _show(value: Any) -> str:
    """A value in a message, short even for a huge nested JSON value."""
    try:
        return _repr.repr(value)
    except ValueError:  # an int past Python's digit limit for str()
        return "a number too long to show"
