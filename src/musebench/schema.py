"""Typed records from parsed YAML / JSON: one walker, one error format.

Every settings object in musebench is a dataclass, so the shape of a file is the dataclasses' type hints:
``from_mapping(cls, data, path)`` walks a parsed mapping along them (nested dataclasses, ``list[X]``,
``tuple[X, ...]``, ``dict[str, X]``, ``X | None``, ``Literal[...]``, ``int`` / ``float`` / ``str`` / ``bool``)
and builds the object. Shapes and types are checked here, once; ranges and cross-field rules stay in each
dataclass's ``__post_init__`` (a ``MusebenchError`` raised there is reported at the object's path), or, for
records a program also builds itself (``results.json``'s), in a ``read_check(problem)`` method the walker calls
on what it read (``problem(RELATIVE_PATH, MESSAGE[, VALUE])``; it returns the record to keep). Every
problem of a file is collected and raised together, each as ``PATH: MESSAGE (got VALUE)``, the path written as
in the file (``eval.settings.privleak_limt: unknown key``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
import warnings
from collections.abc import Mapping
from typing import Any, Literal, Union

from musebench.errors import ConfigError, MusebenchError, shown_value

_NO_VALUE = object()

#: The one map of names that files of earlier musebench versions used, per settings class (its own and its
#: bases', by class name): a method's old names are read from ``run.json`` only (flags and YAML refuse them,
#: naming the new one); the relearning budget's ``lr`` is read from YAML too. Each read warns.
RENAMED: dict[str, dict[str, str]] = {
    "UnlearnConfig": {
        "epochs": "num_train_epochs",
        "lr": "learning_rate",
        "batch_size": "per_device_train_batch_size",
        "grad_accum": "gradient_accumulation_steps",
        "lr_scheduler": "lr_scheduler_type",
    },
    "RMUConfig": {
        "rmu_layer": "layer",
        "rmu_steering_coeff": "steering_coeff",
        "rmu_train_layers": "train_layers",
        "rmu_params": "params",
    },
    "IdkConfig": {"idk_refusals": "refusals", "idk_prompt_tokens": "prompt_tokens"},
    "NPOSAMConfig": {"sam_rho": "rho"},
    "UndialConfig": {"undial_beta": "beta"},
    "WGAConfig": {"wga_beta": "beta"},
    "SatImpConfig": {"satimp_beta1": "beta1", "satimp_beta2": "beta2"},
    "ULDConfig": {
        "uld_layers": "layers",
        "uld_retain_weight": "retain_weight",
        "uld_top_logit_filter": "top_logit_filter",
    },
    "RelearnBudget": {"lr": "learning_rate"},
}


def renames_for(cls: type | str) -> dict[str, str]:
    """Old name -> today's, for ``cls`` and its bases (``RENAMED``); a name stands for a class not imported
    (a results file's relearning settings: ``"RelearnBudget"``)."""
    names = [cls] if isinstance(cls, str) else [c.__name__ for c in reversed(cls.__mro__)]
    return {old: new for name in names for old, new in RENAMED.get(name, {}).items()}


def read_renamed(cls: type | str, data: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """``data`` with ``cls``'s old names (``RENAMED``) replaced by today's, one ``FutureWarning`` naming them;
    an old name given beside its new one is left for the walker to refuse."""
    renames = renames_for(cls)
    old = [k for k in data if k in renames and renames[k] not in data]
    if not old:
        return dict(data)
    warnings.warn(
        f"{', '.join(join(path, k) for k in old)}: an earlier musebench's name; write "
        f"{', '.join(renames[k] for k in old)}",
        FutureWarning,
        stacklevel=3,
    )
    return {renames.get(k, k) if k in old else k: v for k, v in data.items()}


class Problems:
    """Every problem of one file, raised at once as one error of class ``error`` (one line per problem)."""

    def __init__(self, file: str | None = None, error: type[MusebenchError] = ConfigError):
        self.file = file
        self.error = error
        self.items: list[str] = []
        self.entries: list[tuple[str, str, Any]] = []  # (path, message, value or None), for programs

    @property
    def first(self) -> tuple[str, Any] | None:
        """(path, value) of the first problem."""
        return (self.entries[0][0], self.entries[0][2]) if self.entries else None

    def add(self, path: str, message: str, value: Any = _NO_VALUE) -> None:
        shown = "" if value is _NO_VALUE else f" (got {shown_value(value)})"
        self.items.append(f"{path or 'file'}: {message}{shown}")
        self.entries.append((path, message, None if value is _NO_VALUE else value))

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        if len(self.items) == 1:  # one line; its path and value also as the error's field and value
            err = self.error(self.items[0], file=self.file)
            err.field, err.value = self.first
            raise err
        if self.items:
            raise self.error(f"{len(self.items)} problems:", file=self.file, problems=self.items)


def join(path: str, key: object) -> str:
    """``a.b`` + ``c`` -> ``a.b.c``; an integer key is an index, ``a.b[2]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def from_mapping(
    cls: type,
    data: Any,
    path: str = "",
    problems: Problems | None = None,
    *,
    base: Any = None,
    bases: Mapping[str, Any] | None = None,
    unknown: Literal["refuse", "skip"] = "refuse",
) -> Any:
    """Build dataclass ``cls`` from ``data`` (a parsed mapping), checking it against ``cls``'s type hints.

    ``path``: where ``data`` sits in its file (problems are named from it). ``problems``: collect into this
    ``Problems`` and return ``None`` on failure; without it, the problems are raised as one ``ConfigError``.
    ``base``: an instance whose values replace the class defaults (a mini corpus's budgets under the file's
    overrides); ``bases`` the same for nested objects, by path (``{"eval.settings": settings}``).
    ``unknown="skip"``: keys no field names are passed over (a file that newer versions may extend, such as
    ``results.json``), not refused.
    A method's typed config is checked the same way: ``from_mapping(NPOConfig, params, "methods.npo")``.
    """
    own = problems if problems is not None else Problems()
    ctx = _Walk(own, dict(bases or {}), skip_unknown=unknown == "skip")
    if base is not None:
        ctx.bases[path] = base
    result = ctx.value(cls, data, path)
    if problems is None:
        own.raise_if_any()
    return None if result is _NO_VALUE else result


def check_value(tp: Any, value: Any, path: str, problems: Problems) -> Any:
    """``value`` checked against the type ``tp`` (the walker's rule for one field); ``None`` on a problem."""
    result = _Walk(problems, {}).value(tp, value, path)
    return None if result is _NO_VALUE else result


def given_fields(obj: Any, default: Any) -> dict[str, Any]:
    """The fields of ``obj`` that differ from ``default`` (the overrides a file would write)."""
    return {
        f.name: getattr(obj, f.name)
        for f in dataclasses.fields(obj)
        if f.init and getattr(obj, f.name) != getattr(default, f.name)
    }


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


class _Walk:
    def __init__(self, problems: Problems, bases: dict[str, Any], skip_unknown: bool = False):
        self.problems, self.bases, self.skip_unknown = problems, bases, skip_unknown

    def value(self, tp: Any, value: Any, path: str) -> Any:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if tp is Any or tp is object:
            return value
        if origin is Union or origin is types.UnionType:
            if value is None and type(None) in args:
                return None
            options = [a for a in args if a is not type(None)]
            if len(options) == 1:
                return self.value(options[0], value, path)
            for option in options:  # the first type that takes it without a problem
                trial = Problems()
                result = _Walk(trial, self.bases, self.skip_unknown).value(option, value, path)
                if not trial:
                    return result
            self.problems.add(path, f"expected {' or '.join(_word(o) for o in options)}", value)
            return _NO_VALUE
        if value is None and not (dataclasses.is_dataclass(tp) and path in self.bases):
            self.problems.add(path, "missing")
            return _NO_VALUE
        if origin is Literal:
            if value in args and not (isinstance(value, bool) and not any(isinstance(a, bool) for a in args)):
                return value
            self.problems.add(path, f"expected one of {', '.join(str(a) for a in args)}", value)
            return _NO_VALUE
        if dataclasses.is_dataclass(tp):
            return self.dataclass(tp, value, path)
        if origin in (list, tuple) or tp in (list, tuple):
            if not isinstance(value, (list, tuple)) or (
                origin is tuple and args[-1:] != (...,) and len(value) != len(args)
            ):
                self.problems.add(path, "expected a list", value)
                return _NO_VALUE
            kinds = (args[:1] if origin is list or args[-1:] == (...,) else args) or (Any,)
            items = [
                self.value(kinds[0] if len(kinds) == 1 else kinds[i], v, join(path, i)) for i, v in enumerate(value)
            ]
            if any(i is _NO_VALUE for i in items):
                return _NO_VALUE
            return tuple(items) if origin is tuple or tp is tuple else items
        if origin in (dict, Mapping) or tp in (dict, Mapping) or origin is typing.get_origin(Mapping[str, int]):
            if not isinstance(value, Mapping):
                self.problems.add(path, "expected a mapping", value)
                return _NO_VALUE
            kind = args[1] if args else Any
            out = {k: self.value(kind, v, join(path, k)) for k, v in value.items()}
            return _NO_VALUE if any(v is _NO_VALUE for v in out.values()) else out
        if tp is bool:
            if isinstance(value, bool):
                return value
        elif tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif tp is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                return float(value)
        elif tp is str:
            if isinstance(value, str):
                return value
        elif isinstance(tp, type) and isinstance(value, tp):
            return value
        self.problems.add(path, f"expected {_word(tp)}" if value is not None else "missing", value)
        return _NO_VALUE

    def dataclass(self, cls: type, value: Any, path: str) -> Any:
        base = self.bases.get(path)
        if isinstance(value, cls):
            return value
        if value is None and base is not None:
            value = {}
        if not isinstance(value, Mapping):
            self.problems.add(
                path,
                "expected a mapping" if value is not None else "missing",
                value if value is not None else _NO_VALUE,
            )
            return _NO_VALUE
        hints = _hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        before = len(self.problems)
        for key in [k for k in value if k not in fields and not self.skip_unknown]:  # a misspelt key
            self.problems.add(join(path, key), f"unknown key; expected one of {', '.join(fields)}")
        given = {}
        for name, f in fields.items():
            if name in value or join(path, name) in self.bases:  # a based object is resolved even when absent
                given[name] = self.value(hints[name], value.get(name), join(path, name))
            elif base is None and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                self.problems.add(join(path, name), "missing")
        if len(self.problems) > before:
            return _NO_VALUE
        try:
            built = dataclasses.replace(base, **given) if base is not None else cls(**given)
        except MusebenchError as err:  # a domain rule of __post_init__: named at this object's path
            name = (err.field or "").rsplit(".", 1)[-1].lstrip("-").replace("-", "_")
            where = join(path, name) if name in fields else path
            self.problems.add(where, err.message, err.value if err.value is not None else _NO_VALUE)
        except (TypeError, ValueError) as err:
            self.problems.add(path, str(err))
        else:
            return self.read_check(built, path)
        return _NO_VALUE

    def read_check(self, built: Any, path: str) -> Any:
        check = getattr(built, "read_check", None)
        if check is None:
            return built
        before = len(self.problems)
        kept = check(
            lambda where, message, *value: self.problems.add(join(path, where) if where else path, message, *value)
        )
        return kept if len(self.problems) == before else _NO_VALUE


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A dataclass's resolved type hints (resolved once per class: a results file holds hundreds of records)."""
    return typing.get_type_hints(cls)


def _word(tp: Any) -> str:
    if tp in _TYPE_WORDS:
        return _TYPE_WORDS[tp]
    if dataclasses.is_dataclass(tp) or typing.get_origin(tp) in (dict, Mapping) or tp in (dict, Mapping):
        return "a mapping"
    if typing.get_origin(tp) in (list, tuple):
        return "a list"
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))
