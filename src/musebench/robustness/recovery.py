"""How much forgotten knowledge an attack brings back: pure functions of saved scores.

recovery = (attacked - unlearned) / (target - unlearned), per criterion: 0 when the attack changes nothing,
1 when it restores the target's score (the ratio Zhang et al. report as "knowledge kept" after
quantization, measured from the unlearned model's own score).

The relearning attack nets out its control: the retrain model, which never saw the forget set, learns
something from the slice too. Both gains are in points on the same held-out questions, so the excess is

    excess = ((after - before) - (retrain after - retrain before)) / (target - before),

the method's gain beyond the control's, as a share of the method's own gap to the target. (A difference of
two ratios with different denominators would fail a method that gains exactly what the control gains.)

Rephrased questions are a different probe, not a changed model, so each probe is first normalised by the
target's score on it: u = KnowMem(unlearned) / KnowMem(target) on the original questions, p the same on the
rephrased ones, and recovery = (p - u) / (1 - u), the share of the forgotten part that rephrasing recovers.

Noise: one KnowMem question is several points of a mean over 20-30 questions, so a ratio is reported only
where the gap (target - unlearned, on the same questions) exceeds ``NOISE_SE`` standard errors of the
per-question gap's mean; otherwise it is "too small to judge". Every judged ratio gets a percentile bootstrap
CI with the questions (records) resampled, the same draw for every model scored on them (paired).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from musebench.evaluate.bootstrap import bootstrap_ci

#: The smallest target - unlearned gap a point ratio is computed for when no per-question scores exist.
MIN_GAP: dict[str, float] = {"verbmem_f": 1.0, "knowmem_f": 1.0, "knowmem_r": 1.0, "privleak": 1.0, "auc": 0.01}
#: A gap counts only beyond this many standard errors of its per-question mean (about a 95 % two-sided band).
NOISE_SE = 2.0
BOOTSTRAP_SAMPLES = 1000
JUDGED, TOO_SMALL, NO_ITEMS = "judged", "too small to judge", "no per-question scores"
#: What each attack's ratio nets out (printed in the report).
CONTROLS = {
    "quantize": "none (the quantized target's shift is a control row)",
    "relearn": "retrain model, relearned alike: its gain subtracted",
    "paraphrase": "target on the rephrased questions (normalised)",
}


def recovery_ratio(
    attacked: float | None, unlearned: float | None, target: float | None, min_gap: float = 1.0
) -> float | None:
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


def relearn_excess(
    after: float | None,
    before: float | None,
    control_after: float | None,
    control_before: float | None,
    target: float | None,
    min_gap: float = 1.0,
) -> float | None:
    """The method's gain beyond the control's gain, over the method's own gap to the target."""
    if None in (after, before, control_after, control_before, target):
        return None
    gap = target - before
    if abs(gap) < min_gap:
        return None
    return ((after - before) - (control_after - control_before)) / gap


def excess(
    after: dict, before: dict, control_after: dict, control_before: dict, target: dict
) -> dict[str, float | None]:
    """``relearn_excess`` for every key of ``after`` (None where a score is missing or nothing was forgotten)."""
    return {
        k: _round(
            relearn_excess(
                after.get(k),
                before.get(k),
                control_after.get(k),
                control_before.get(k),
                target.get(k),
                MIN_GAP.get(k, 1.0),
            )
        )
        for k in after
    }


def paraphrase_recovery(
    para_unlearned: float, para_target: float, orig_unlearned: float, orig_target: float, min_gap: float = 1.0
) -> float | None:
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


# --- per-question judgement -------------------------------------------------------------------------------


def noise_floor(target: Sequence[float], unlearned: Sequence[float], se: float = NOISE_SE) -> float:
    """``se`` standard errors of the mean per-question gap (target - unlearned, same questions, paired)."""
    t, u = np.asarray(target, dtype=np.float64), np.asarray(unlearned, dtype=np.float64)
    if len(t) < 2 or len(t) != len(u):
        return math.inf
    return float(se * np.std(t - u, ddof=1) / math.sqrt(len(t)))


def bootstrap_ratio(
    stat: Callable[..., np.ndarray],
    groups: Sequence[Mapping[str, Sequence[float]]],
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
    name: str = "",
) -> list[float] | None:
    """Percentile 95 % CI of ``stat(**means)``; within a group the vectors share one draw of questions.

    None when under half the resamples give a ratio (its denominator vanished)."""
    if any(not g or any(len(v) == 0 for v in g.values()) for g in groups):
        return None
    keys = [k for g in groups for k in g]

    def means(*arrays):
        return stat(**{k: a.mean(axis=-1) for k, a in zip(keys, arrays)})

    ci = bootstrap_ci(
        means, [tuple(g.values()) for g in groups], samples, seed, name, batched=means, min_finite=samples // 2
    )
    return [round(ci[0], 4), round(ci[1], 4)] if ci is not None else None


def _means(groups) -> dict[str, float]:
    return {k: float(np.mean(v)) for g in groups for k, v in g.items()}


def judge(
    kind: str,
    groups: Sequence[Mapping[str, Sequence[float]]] | None,
    gap_pair: tuple[str, str],
    seed: int = 0,
    name: str = "",
    samples: int = BOOTSTRAP_SAMPLES,
) -> dict:
    """One attack's ratio on one criterion: value, CI, gap, noise floor and whether it can be judged.

    ``kind``: quantize (A, U, T), relearn (A, B, CA, CB, T) or paraphrase (U, T | PU, PT); ``groups`` the
    per-question score vectors, one mapping per question set; ``gap_pair`` the (target, unlearned) keys.
    """
    stat = STATS[kind]
    if (
        not groups
        or any(not g or any(v is None for v in g.values()) for g in groups)
        or any(len({len(v) for v in g.values()}) != 1 for g in groups)
    ):
        return {"status": NO_ITEMS, "value": None, "ci": None, "control": CONTROLS[kind]}
    means = _means(groups)
    t_key, u_key = gap_pair
    group = next(g for g in groups if t_key in g)
    gap = means[t_key] - means[u_key]
    noise = noise_floor(group[t_key], group[u_key])
    out = {
        "gap": round(gap, 4),
        "noise": round(noise, 4) if math.isfinite(noise) else None,
        "n": len(group[t_key]),
        "control": CONTROLS[kind],
    }
    if not gap > noise:
        return {**out, "status": TOO_SMALL, "value": None, "ci": None}
    value = float(stat(**{k: np.float64(v) for k, v in means.items()}))
    ci = bootstrap_ratio(stat, groups, samples, seed, name)
    return {**out, "status": JUDGED, "value": _round(value), "ci": ci}


def _quantize(A, U, T):
    return (A - U) / (T - U)


def _relearn(A, B, CA, CB, T):
    return ((A - B) - (CA - CB)) / (T - B)


def _paraphrase(U, T, PU, PT):
    u, p = U / T, PU / PT
    return (p - u) / (1 - u)


STATS: dict[str, Callable[..., np.ndarray]] = {"quantize": _quantize, "relearn": _relearn, "paraphrase": _paraphrase}


def _round(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 4)
