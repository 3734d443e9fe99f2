"""Options of a method that are not ``UnlearnConfig`` fields: a plugin's own settings.

A ``Method`` may name a dataclass as its ``options``; a request then carries a ``method_options`` mapping
(``method_options:`` in YAML, ``--method-option key=value`` on the command line) that the dataclass
validates: unknown keys, wrong types and the dataclass's own checks are ``ConfigError`` problems naming
``method_options.<key>``. ``resolved()`` fills the dataclass defaults in, so ``run.json`` records every value
the run used, and the experiment's stage key (which hashes the request's fields) changes with them.
A trainer reads them with :func:`options_of`. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

FIELD = "method_options"


@dataclass
class MethodOptionsField:
    """The ``method_options`` field of ``UnlearnConfig`` (a base of it, like every options dataclass)."""

    method_options: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "options of the method's own options dataclass (plugins), KEY=VALUE; see 'musebench ls methods'",
        "weights": True})


def option_fields(options_cls) -> tuple[dataclasses.Field, ...]:
    return tuple(f for f in dataclasses.fields(options_cls) if f.init)


def _allowed(annotation) -> tuple[type, ...] | None:
    """The plain types a field accepts (None: not checked here, the dataclass decides)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        parts = [_allowed(a) for a in typing.get_args(annotation)]
        return None if any(p is None for p in parts) else tuple(t for p in parts for t in p)
    if annotation is type(None):
        return (type(None),)
    if annotation in (bool, int, float, str):
        return (annotation,)
    return None


def _type_problem(value: Any, allowed: tuple[type, ...]) -> str | None:
    if isinstance(value, bool):
        ok = bool in allowed
    elif isinstance(value, int):
        ok = int in allowed or float in allowed
    elif isinstance(value, float):
        ok = float in allowed and math.isfinite(value)
    else:
        ok = isinstance(value, allowed)
    if ok:
        return None
    names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
    return f"must be {'a finite ' if float in allowed else 'a '}{names}"


def option_problems(options_cls, values: Any, method: str):
    """``(field, value, message)`` for every problem of ``values`` against ``options_cls``."""
    if not isinstance(values, dict):
        yield FIELD, values, "must be a mapping of option names to values"
        return
    if options_cls is None:
        if values:
            yield FIELD, values, (f"method '{method}' has no options of its own; its settings are the "
                                  "unlearning options (flags / YAML keys)")
        return
    fields = {f.name: f for f in option_fields(options_cls)}
    hints = typing.get_type_hints(options_cls)
    bad = False
    for key, value in values.items():
        if key not in fields:
            bad = True
            yield f"{FIELD}.{key}", value, f"unknown option of method '{method}'; known: {', '.join(fields) or 'none'}"
            continue
        allowed = _allowed(hints.get(key))
        message = _type_problem(value, allowed) if allowed else None
        if message:
            bad = True
            yield f"{FIELD}.{key}", value, message
    if not bad:
        try:
            options_cls(**values)
        except Exception as err:  # noqa: BLE001 - the dataclass's own checks (a plugin raises what it raises)
            yield FIELD, values, f"rejected by {options_cls.__name__}: {getattr(err, 'message', err)}"


def resolved_options(options_cls, values: dict[str, Any]) -> dict[str, Any]:
    """Every option's value (the dataclass defaults filled in), as plain data for ``run.json``."""
    if options_cls is None:
        return dict(values)
    return dataclasses.asdict(options_cls(**values))


def options_of(config):
    """The method's options dataclass built from ``config.method_options`` (None when it has none)."""
    spec = config.spec
    return spec.options(**config.method_options) if spec.options is not None else None


def parse_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of ``--method-option``; the value is read as YAML (``3``, ``0.5``, ``true``, ``abc``)."""
    from musebench.errors import ConfigError
    from musebench.io import parse_yaml

    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = parse_yaml(raw, max_values=1_000) if raw.strip() else ""
    except ConfigError as err:
        if "not valid YAML" not in err.message:
            raise ValueError(f"{key.strip()}: {err.message}") from None
        value = raw
    return key.strip(), value
