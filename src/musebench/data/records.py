"""Record types of one MUSE corpus (see the data layout in the README)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QAPair:
    """One knowledge-memorization question with its short reference answer."""

    question: str
    answer: str


@dataclass(frozen=True)
class VerbMemRecord:
    """A chunk of forget text split into a prompt and its ground-truth continuation ``gt``."""

    prompt: str
    gt: str
