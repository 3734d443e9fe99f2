"""Command-line flags of a settings dataclass, made by ``HfArgumentParser`` from its fields.

Every settings flag of every command comes from here, so a knob's type, help text (the field's ``help``
metadata) and default live in one place: the dataclass. A command adds ``SettingsFlags(cls, ...).parser``
as a parent of its parser and reads back only the flags the user gave (``given(args)``), which it lays over
its own base (the paper defaults, a mini corpus's budgets, the audit's). A field that may be ``None`` takes
``none`` on the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from musebench.commands.common import seed_value
from musebench.errors import ConfigError


class _Unset:
    def __repr__(self) -> str:
        return "unset"


UNSET: Any = _Unset()  # the default of every generated flag: absent from ``given``


def _or_none(kind: type):
    def parse(text: str):
        return None if text.strip().lower() == "none" else kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in its error line
    return parse


class SettingsFlags:
    """The flags of ``cls``'s fields (``only`` / ``skip`` choose them, ``rename`` maps field -> flag name);
    ``defaults``: the instance whose values the help text states (default: the class defaults), or one text
    for every flag (a command whose base depends on its input)."""

    def __init__(
        self,
        cls: type,
        *,
        only: Iterable[str] | None = None,
        skip: Iterable[str] = (),
        rename: Mapping[str, str] | None = None,
        defaults: Any = None,
    ):
        from transformers import HfArgumentParser

        hints = typing.get_type_hints(cls)
        chosen = [
            f
            for f in dataclasses.fields(cls)
            if f.init and f.name not in set(skip) and (only is None or f.name in set(only))
        ]
        shown = defaults if defaults is not None else cls()
        self.names = {(rename or {}).get(f.name, f.name): f.name for f in chosen}  # flag dest -> field
        view = []
        for flag, name in self.names.items():
            f = next(x for x in chosen if x.name == name)
            kind = hints[name]
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            if type(None) in typing.get_args(kind) and len(args) == 1 and typing.get_origin(args[0]) is not Literal:
                kind = _or_none(args[0])
            if name == "seed":  # every command's seed flag checks its range the same way
                kind = seed_value
            default = shown if isinstance(shown, str) else getattr(shown, name)
            text = f.metadata.get("help", name)
            view.append(
                (
                    flag,
                    kind,
                    dataclasses.field(
                        default=UNSET, metadata={"help": f"{text} (default: {default})".replace("%", "%%")}
                    ),
                )
            )
        self.cls = cls
        flags = dataclasses.make_dataclass(f"{cls.__name__}Flags", view)
        flags._argument_group_name = cls.__name__  # HfArgumentParser's group title
        self.parser = HfArgumentParser(flags, add_help=False, exit_on_error=False)

    def given(self, args: argparse.Namespace) -> dict[str, Any]:
        """``{field: value}`` of the flags given on the command line."""
        return {
            name: getattr(args, flag) for flag, name in self.names.items() if getattr(args, flag, UNSET) is not UNSET
        }

    def flags(self) -> list[str]:
        """The flags' names as typed (``--verbmem-max-new-tokens``)."""
        return [f"--{flag.replace('_', '-')}" for flag in self.names]

    def from_pairs(self, pairs: list[str], flag: str = "--set") -> dict[str, Any]:
        """The deprecated ``--set FIELD=VALUE`` spelling, parsed as the field's own flag."""
        out: dict[str, Any] = {}
        for pair in pairs:
            name, sep, raw = pair.partition("=")
            name = name.strip()
            if not sep or name not in self.names:
                raise ConfigError(
                    f"expected FIELD=VALUE with FIELD one of {', '.join(self.names)}", field=flag, value=pair
                )
            try:
                parsed = self.parser.parse_args([f"--{name}", raw.strip()])
            except argparse.ArgumentError as err:
                raise ConfigError(err.message, field=f"{flag} {name}", value=raw) from None
            out[self.names[name]] = getattr(parsed, name)
            warnings.warn(
                f"{flag} {name}=... is deprecated; write --{name.replace('_', '-')} {raw.strip()}",
                FutureWarning,
                stacklevel=2,
            )
        return out
