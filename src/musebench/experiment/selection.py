"""Which checkpoint of an unlearning run is "the" result: the MUSE paper's rule.

MUSE evaluates after every epoch (or every alpha for Task Vector / WHP) and keeps the FIRST checkpoint whose
KnowMem on the forget set is at or below the retrain model's; when none gets there, the last one. An optional
utility floor (``knowmem_r >= floor x target's knowmem_r``) first removes checkpoints that broke the model;
the paper's rule then runs on those that remain (falling back to all checkpoints when none remains).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Selection:
    label: str
    index: int
    reason: str


def selection_metrics(utility_floor: float | None) -> list[str]:
    """The scores selection reads; with ``eval.checkpoints: selection`` only these are computed per checkpoint."""
    return ["knowmem_f"] if utility_floor is None else ["knowmem_f", "knowmem_r"]


def is_final(
    scores: dict[str, float],
    retrain_knowmem_f: float,
    utility_floor: float | None = None,
    target_knowmem_r: float | None = None,
) -> bool:
    """True when this checkpoint is selected whatever comes after it: it meets the forget target (and the
    floor). Later checkpoints need not be evaluated, as the rule takes the FIRST such checkpoint."""
    if scores["knowmem_f"] > retrain_knowmem_f:
        return False
    return utility_floor is None or scores["knowmem_r"] >= utility_floor * target_knowmem_r


def select_checkpoint(
    checkpoints: Sequence[tuple[str, dict[str, float]]],
    retrain_knowmem_f: float,
    utility_floor: float | None = None,
    target_knowmem_r: float | None = None,
) -> Selection:
    """Apply the paper's rule to ``[(label, scores), ...]`` in training order (epoch 1.., alpha 1, 2, 4..)."""
    if not checkpoints:
        raise ValueError("no checkpoints to select from")
    candidates = list(range(len(checkpoints)))
    floor_note = ""
    if utility_floor is not None:
        if target_knowmem_r is None:
            raise ValueError("a utility floor needs the target's knowmem_r")
        minimum = utility_floor * target_knowmem_r
        kept = [i for i in candidates if checkpoints[i][1]["knowmem_r"] >= minimum]
        if kept:
            candidates = kept
            floor_note = f"; utility floor knowmem_r >= {minimum:.1f} kept {len(kept)}/{len(checkpoints)}"
        else:
            floor_note = f"; no checkpoint keeps knowmem_r >= {minimum:.1f}, floor ignored"
    for i in candidates:
        value = checkpoints[i][1]["knowmem_f"]
        if value <= retrain_knowmem_f:
            label = checkpoints[i][0]
            return Selection(
                label,
                i,
                f"first checkpoint with knowmem_f <= retrain ({value:.1f} <= {retrain_knowmem_f:.1f}){floor_note}",
            )
    last = candidates[-1]
    value = checkpoints[last][1]["knowmem_f"]
    return Selection(
        checkpoints[last][0],
        last,
        f"no checkpoint reaches retrain knowmem_f {retrain_knowmem_f:.1f}; last one ({value:.1f}){floor_note}",
    )
