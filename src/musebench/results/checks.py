"""Rules that several records of ``results.json`` share, for their ``read_check`` (``musebench.schema``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: ``problem(PATH_INSIDE_THE_RECORD, MESSAGE[, VALUE])``: how a ``read_check`` reports a problem.
Problem = Callable[..., None]


def as_written(value: float) -> float | int:
    """A number as the file most likely wrote it (``2``, not the ``2.0`` the walker read), for error lines."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def check_texts(record: Any, problem: Problem, *names: str) -> None:
    """The named text fields, where given, are not empty."""
    for name in names:
        if getattr(record, name) == "":
            problem(name, "expected a non-empty string", "")


def check_timing(timing: Mapping[str, float] | None, where: str, problem: Problem) -> None:
    """Seconds are never negative."""
    for key, value in (timing or {}).items():
        if value < 0:
            problem(f"{where}.{key}", "out of range [0, inf]", as_written(value))
