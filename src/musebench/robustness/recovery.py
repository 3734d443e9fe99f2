"""How much forgotten knowledge an attack brings back: pure functions of saved scores.

recovery = (attacked - unlearned) / (target - unlearned), per criterion: 0 when the attack changes nothing,
1 when it restores the target's score (the ratio Zhang et al. report as "knowledge kept" after
quantization, measured from the unlearned model's own score). It is undefined (None) when the unlearned
model is within ``MIN_GAP`` of the target: nothing was forgotten, so nothing can be recovered.

The relearning attack is reported beyond its control: the retrain model, which never saw the forget set,
learns something from the slice too; ``excess = recovery(unlearned) - recovery(retrain)`` is what the
slice brings back that it does not teach.

Rephrased questions are a different probe, not a changed model, so each probe is first normalised by the
target's score on it: u = KnowMem(unlearned) / KnowMem(target) on the original questions, p the same on the
rephrased ones, and recovery = (p - u) / (1 - u), the share of the forgotten part that rephrasing recovers.
"""

from __future__ import annotations

#: The smallest target - unlearned gap a recovery ratio is computed for, per score key (same units).
MIN_GAP: dict[str, float] = {"verbmem_f": 1.0, "knowmem_f": 1.0, "knowmem_r": 1.0, "privleak": 1.0,
                             "auc": 0.01}


def recovery_ratio(attacked: float | None, unlearned: float | None, target: float | None,
                   min_gap: float = 1.0) -> float | None:
    if attacked is None or unlearned is None or target is None:
        return None
    gap = target - unlearned
    if abs(gap) < min_gap:
        return None
    return (attacked - unlearned) / gap


def recoveries(attacked: dict, unlearned: dict, target: dict) -> dict[str, float | None]:
    """``recovery_ratio`` for every key the three score dicts share."""
    keys = [k for k in attacked if k in unlearned and k in target]
    return {k: _round(recovery_ratio(attacked[k], unlearned[k], target[k], MIN_GAP.get(k, 1.0))) for k in keys}


def excess(recovered: dict, control: dict) -> dict[str, float | None]:
    """Recovery beyond the control's (None where either is undefined)."""
    return {k: _round(v - control[k]) if v is not None and control.get(k) is not None else None
            for k, v in recovered.items()}


def paraphrase_recovery(para_unlearned: float, para_target: float, orig_unlearned: float,
                        orig_target: float, min_gap: float = 1.0) -> float | None:
    if para_target < min_gap or orig_target < min_gap:
        return None  # the target itself does not answer: the probe measures nothing
    u, p = orig_unlearned / orig_target, para_unlearned / para_target
    if 1 - u < min_gap / orig_target:
        return None
    return _round((p - u) / (1 - u))


def kept(score: float | None, target: float | None) -> float | None:
    """The share of the target's score a model keeps (Zhang et al.'s "knowledge kept")."""
    if score is None or not target:
        return None
    return _round(score / target)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
