"""IdkNLL / IdkDPO's options (a base of ``UnlearnConfig``); apart from the trainer so the config imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from musebench.errors import DataError

DEFAULT_REFUSALS = Path(__file__).with_name("idk_refusals.txt")


def read_refusals(path: str | Path | None = None) -> list[str]:
    """The refusal sentences of ``path`` (default: the shipped list); a missing or empty file is a DataError."""
    path = Path(path) if path else DEFAULT_REFUSALS
    if not path.is_file():
        raise DataError("refusal file not found", file=path, field="idk_refusals")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read the refusal file: {err}", file=path, field="idk_refusals") from err
    refusals = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not refusals:
        raise DataError("the refusal file has no refusal (one per line; '#' lines are comments)", file=path,
                        field="idk_refusals")
    return refusals


def _refusal_file(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return "must be a file path or unset"
    try:
        read_refusals(value)
    except DataError as err:
        return err.message
    return None


def _prompt_tokens(value) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return None if ok else "must be an integer >= 1"


@dataclass
class IdkOptions:
    """IdkNLL / IdkDPO (``unlearn/idk.py``): the refusal answers and the prompt cut from each forget window."""

    idk_refusals: str | None = field(default=None, metadata={
        "help": "text file of refusal answers, one per line, '#' lines skipped (default: the 40 shipped in "
                "musebench/unlearn/idk_refusals.txt)", "weights": True, "check": _refusal_file})
    idk_prompt_tokens: int = field(default=32, metadata={
        "help": "tokens of each forget window (BOS included) that form the prompt; the rest of the window is the "
                "rejected answer", "weights": True, "check": _prompt_tokens})
