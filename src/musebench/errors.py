"""One family of exceptions for everything a user can get wrong.

The CLI catches ``MusebenchError`` and prints a single line (``str(err)``) naming the file, field and
value in one format, ``FILE: FIELD: MESSAGE (got VALUE)`` (the field a flag, a key or a path inside the file,
as ``musebench.schema`` writes it), then exits with code 2; an error listing several ``problems`` prints a header line and then one
problem per line. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import reprlib
from pathlib import Path


class MusebenchError(Exception):
    """Base class: a problem with user input, configuration or environment (exit code 2)."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        value: object = None,
        problems: list[str] | None = None,
    ):
        self.message = message
        self.problems = list(problems or [])
        self.file = str(file) if file is not None else None
        self.field = field
        self.value = value
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.field:
            where.append(self.field)
        prefix = ": ".join(where)
        text = f"{prefix}: {self.message}" if prefix else self.message
        if self.value is not None:
            text += f" (got {shown_value(self.value)})"
        if self.problems:
            text += "".join(f"\n  - {p}" for p in self.problems)
        return text


#: ``repr`` with every size bounded: a value from a hostile file (a YAML alias bomb expands to billions of
#: items, a nested list to thousands of levels) is shown in constant time, never expanded.
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 158, 78  # a path is shown whole
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def shown_value(value: object, limit: int = 160) -> str:
    """A short ``repr`` of ``value`` for an error line (at most ``limit`` characters)."""
    try:
        shown = _REPR.repr(value)
    except Exception:  # noqa: BLE001  (a value whose repr fails is still named by its type)
        shown = f"<{type(value).__name__}>"
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class DataError(MusebenchError):
    """A corpus file is missing, malformed, empty or inconsistent."""


class ConfigError(MusebenchError):
    """A configuration value or command-line flag is invalid."""


class ModelError(MusebenchError):
    """A model directory or hub name cannot be loaded (no weights, no tokenizer, remote code...)."""


class TrainingError(MusebenchError):
    """Training stopped for a reason the user must see (NaN/Inf loss, diverged run)."""


def check_schema(doc: object, expected: int, file: str | Path, what: str, key: str = "schema_version") -> None:
    """Raise a ``DataError`` saying which musebench made ``file`` when its ``schema_version`` is not ours.

    A record without the field, or with an older number, was written before a format change: the message
    says so (and what to do) instead of letting a missing key surface later as a traceback.
    """
    found = doc.get(key) if isinstance(doc, dict) else None
    if found == expected:
        return
    if not isinstance(doc, dict):
        raise DataError(f"not a musebench {what} (expected a JSON object)", file=file, value=type(doc).__name__)
    if isinstance(found, int) and found > expected:
        raise DataError(
            f"{what} made by a newer musebench ({key} {found}; this one reads {expected}): "
            "upgrade musebench to read it",
            file=file,
        )
    shown = "none" if found is None else found
    raise DataError(
        f"{what} made by an older musebench ({key} {shown}; this one reads {expected}): "
        "re-run the command that made it into a new directory, or read it with the musebench "
        "version that wrote it",
        file=file,
    )
