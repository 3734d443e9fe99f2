"""IdkNLL / IdkDPO's options (a base of ``UnlearnConfig``); apart from the trainer so the config imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field


def _refusal_file(value) -> str | None:
    return None if value is None or (isinstance(value, str) and value.strip()) else "must be a file path or unset"


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
