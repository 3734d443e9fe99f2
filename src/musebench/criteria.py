"""The names of what MUSE measures, in one place: score keys, their titles, units and ranges, and C1-C7.

Every layer speaks of the same five scores (``verbmem_f``, ``knowmem_f``, ``knowmem_r`` as ROUGE-L F1 x 100,
``auc`` as a probability, ``privleak`` in %) and the same seven criteria (the paper's six, plus C7
robustness). The corpus checks which it can compute, the evaluation names them, ``results.json`` is
validated against their ranges, and the terminal tables and the report title them; all read them here.
Imports nothing of musebench, so ``data/`` (the ground floor) may use it too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Better = Literal["low", "high", "zero", "retrain"]
#: How a terminal table marks the better direction of a score.
ARROWS: dict[str, str] = {"low": "↓", "high": "↑", "zero": "→0", "retrain": "≈ retrain"}


@dataclass(frozen=True)
class Score:
    """One reported score: its key in every record, how it is shown, and the values it may take."""

    key: str
    title: str  # short display name: "VerbMem-f"
    description: str  # what is measured, with its unit
    low: float  # closed range a valid value lies in
    high: float
    better: Better  # which direction an unlearned model should move it
    unit: str
    header: str  # the report's Table 3 column header
    plot_title: str  # the report's panel title

    @property
    def higher_is_better(self) -> bool | None:
        """True / False for a monotone score, None where closeness to a reference is best (AUC, PrivLeak)."""
        return {"low": False, "high": True}.get(self.better)

    @property
    def column(self) -> str:
        """The terminal table's header: the title and the better direction (``"VerbMem-f ↓"``)."""
        return f"{self.title} {ARROWS[self.better]}"

    def in_range(self, value: float) -> bool:
        return self.low <= value <= self.high


#: Every score a MUSE evaluation reports, in the order records list them.
SCORES: dict[str, Score] = {
    "verbmem_f": Score(
        "verbmem_f",
        "VerbMem-f",
        "VerbMem on forget (ROUGE-L F1 x100)",
        0.0,
        100.0,
        "low",
        "0-100",
        "VerbMem-f",
        "VerbMem-f (lower = less verbatim)",
    ),
    "knowmem_f": Score(
        "knowmem_f",
        "KnowMem-f",
        "KnowMem on forget (ROUGE-L F1 x100)",
        0.0,
        100.0,
        "low",
        "0-100",
        "KnowMem-f",
        "KnowMem-f (lower = forgotten)",
    ),
    "knowmem_r": Score(
        "knowmem_r",
        "KnowMem-r",
        "KnowMem on retain, utility (ROUGE-L F1 x100)",
        0.0,
        100.0,
        "high",
        "0-100",
        "KnowMem-r (utility)",
        "KnowMem-r (utility, higher = kept)",
    ),
    "auc": Score(
        "auc",
        "AUC",
        "Min-K% AUC, forget vs holdout (holdout = 1)",
        0.0,
        1.0,
        "retrain",
        "0-1",
        "AUC",
        "Min-K% AUC (forget vs holdout)",
    ),
    "privleak": Score(
        "privleak",
        "PrivLeak",
        "PrivLeak = (AUC - AUC_retrain) / AUC_retrain x100",
        -math.inf,
        math.inf,
        "zero",
        "%",
        "PrivLeak (%)",
        "PrivLeak % (0 = like retrain)",
    ),
}
SCORE_KEYS: tuple[str, ...] = tuple(SCORES)
#: The paper's Table 3 columns, in its order: VerbMem-f, KnowMem-f, PrivLeak, KnowMem-r (utility).
TABLE3: tuple[str, ...] = ("verbmem_f", "knowmem_f", "privleak", "knowmem_r")


@dataclass(frozen=True)
class Criterion:
    """One of MUSE's six criteria (C7 added): the paper's short name and what measures it."""

    code: str  # "C1"
    name: str  # the paper's short name
    measured_by: str  # in words
    key: str  # the score key, or the results block (``scalability``, ``sustainability``, ``robustness``)
    needs: tuple[str, ...] = ()  # the corpus parts (``Corpus`` attributes) it cannot be computed without

    @property
    def heading(self) -> str:
        """``"C5 Scalability"``: the code and the paper's name, as the report's sections say."""
        return f"{self.code} {self.name}"

    @property
    def title(self) -> str:
        """``"C1 no verbatim memorization (VerbMem on forget)"``."""
        return f"{self.code} {self.name[0].lower()}{self.name[1:]} ({self.measured_by})"


CRITERIA: dict[str, Criterion] = {
    c.code: c
    for c in (
        Criterion("C1", "No verbatim memorization", "VerbMem on forget", "verbmem_f", ("verbmem_forget",)),
        Criterion("C2", "No knowledge memorization", "KnowMem on forget", "knowmem_f", ("knowmem_forget_qa",)),
        Criterion("C3", "No privacy leakage", "PrivLeak", "privleak", ("privleak_forget", "privleak_holdout")),
        Criterion("C4", "Utility preserved", "KnowMem on retain", "knowmem_r", ("knowmem_retain_qa",)),
        Criterion("C5", "Scalability", "forget sets of growing size", "scalability", ("scal",)),
        Criterion("C6", "Sustainability", "sequential requests", "sustainability", ("sust",)),
        Criterion("C7", "Robust forgetting", "KnowMem-f under attacks", "robustness"),
    )
}
#: The paper's six (C7 is an addition from later work: Zhang et al., Hu et al., ICLR 2025).
MUSE_CRITERIA: tuple[str, ...] = ("C1", "C2", "C3", "C4", "C5", "C6")
#: The follow-up requests of C5 / C6: results block -> the number each row is ordered by.
FOLLOW_UPS: dict[str, str] = {"scalability": "fold", "sustainability": "request"}


def criterion_of(key: str) -> Criterion | None:
    """The criterion a score key or results block measures (``auc`` measures none by itself)."""
    return next((c for c in CRITERIA.values() if c.key == key), None)


#: The scores that are criteria (C1-C4), in record order: what an evaluation computes unless told otherwise.
CRITERION_SCORES: tuple[str, ...] = tuple(k for k in SCORE_KEYS if criterion_of(k))
#: The paper's six criteria in record order (C1-C4's scores, then the follow-up requests): what a corpus is
#: checked for, each by its ``needs``.
CORPUS_CRITERIA: tuple[Criterion, ...] = tuple(criterion_of(k) for k in (*CRITERION_SCORES, *FOLLOW_UPS))


def title(key: str) -> str:
    """Display name of a score key; an unknown key is shown as it is."""
    score = SCORES.get(key)
    return score.title if score else key
