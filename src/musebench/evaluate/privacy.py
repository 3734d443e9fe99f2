"""The membership-inference suite (C3) from one log-prob pass per text (plus one per lower-cased text).

PrivLeak alone needs only the headline Min-K% (and the mean NLL it comes with for free): one log-probs-only
forward per text. The opt-in suite (``privacy``) adds NLL / zlib bytes, NLL / NLL(lower-cased) (a second
forward per text), Min-K% and Min-K%++ for each K (the moments of every next-token distribution), and
optionally NLL / NLL(reference model). Every score is "lower = member". Per attack: the AUC of every
ordered pair of splits (``A_vs_B``: A the would-be members labelled 0, B labelled 1 — MUSE's orientation),
and TPR at 1% and 5% FPR with forget as positives and holdout as negatives.
"""

from __future__ import annotations

from itertools import permutations

from musebench.evaluate.metrics import (
    auc,
    lowercase_ratio,
    mean_nll,
    mink_score,
    minkpp_score,
    reference_ratio,
    tpr_at_fpr,
    zlib_ratio,
)
from musebench.evaluate.requests import TokenLogprobs
from musebench.evaluate.settings import MINK_PERCENTS

SPLITS = ("forget", "retain", "holdout")
TPR_FPRS = (0.01, 0.05)


def k_label(k: float) -> str:
    return f"{k:g}"


def attack_scores(text: str, stats: TokenLogprobs, lower: TokenLogprobs | None = None,
                  reference: TokenLogprobs | None = None, ks=MINK_PERCENTS, suite: bool = True) -> dict[str, float]:
    """Each attack's score for one text (lower = more likely a member); without ``suite``, NLL and Min-K% only."""
    nll = mean_nll(stats.logprobs)
    scores = {"nll": nll}
    if suite:
        scores["zlib"] = zlib_ratio(nll, text)
    if lower is not None:
        scores["lowercase"] = lowercase_ratio(nll, mean_nll(lower.logprobs))
    if reference is not None:
        scores["reference"] = reference_ratio(nll, mean_nll(reference.logprobs))
    for k in ks:
        scores[f"mink_{k_label(k)}"] = mink_score(stats.logprobs, k)
    if stats.has_moments:
        for k in ks:
            scores[f"minkpp_{k_label(k)}"] = minkpp_score(stats.logprobs, stats.mu, stats.sigma, k)
    return scores


def privacy_table(scores: dict[str, list[dict[str, float]]]) -> dict[str, dict]:
    """attack -> {"auc": {"forget_vs_holdout": ..., ...}, "tpr_at_1%_fpr": ..., "tpr_at_5%_fpr": ...}."""
    splits = [s for s in SPLITS if scores.get(s)]
    attacks = list(scores[splits[0]][0]) if splits else []
    table = {}
    for attack in attacks:
        column = {s: [row[attack] for row in scores[s]] for s in splits}
        entry = {"auc": {f"{a}_vs_{b}": auc(column[a], column[b]) for a, b in permutations(splits, 2)}}
        if "forget" in column and "holdout" in column:
            for fpr in TPR_FPRS:
                entry[f"tpr_at_{fpr * 100:g}%_fpr"] = tpr_at_fpr(column["forget"], column["holdout"], fpr)
        table[attack] = entry
    return table


class MeasuredAUC(float):
    """A retrain AUC measured on this corpus, carrying the per-text headline scores it came from.

    It is the AUC (a float, so it goes wherever a retrain AUC goes) and lets PrivLeak's CI resample the
    retrain model's scores jointly with the evaluated model's: with 60 + 60 texts the retrain AUC alone is
    uncertain by about +-20 PrivLeak points, which a CI holding it fixed leaves out.
    """

    forget: tuple[float, ...]
    holdout: tuple[float, ...]

    def __new__(cls, forget, holdout, value: float | None = None):
        from musebench.evaluate.metrics import auc as _auc

        obj = super().__new__(cls, _auc(forget, holdout) if value is None else value)
        obj.forget, obj.holdout = tuple(float(x) for x in forget), tuple(float(x) for x in holdout)
        return obj

    def __reduce__(self):
        return (MeasuredAUC, (self.forget, self.holdout, float(self)))


def privleak_ci(forget, holdout, retrain: MeasuredAUC, samples: int, seed: int,
                clusters: list | None = None) -> list[float] | None:
    """PrivLeak's 95 % CI with both models' scores resampled: the same texts drawn for both (paired) when the
    two score lists are of the same texts (same lengths), else each model's texts drawn on their own.
    ``clusters``: the unit (person) of each forget and each holdout text, or None: whole units are drawn."""
    f_units, h_units = clusters or (None, None)
    from musebench.evaluate.bootstrap import paired_bootstrap_ci
    from musebench.evaluate.metrics import auc_by_ranks, privleak

    if len(forget) == len(retrain.forget) and len(holdout) == len(retrain.holdout):
        groups = [(forget, retrain.forget), (holdout, retrain.holdout)]
        units = [f_units, h_units]

        def stat(fm, fr, hm, hr):
            return privleak(auc_by_ranks(fm, hm), auc_by_ranks(fr, hr))
    else:
        groups = [(forget,), (holdout,), (retrain.forget,), (retrain.holdout,)]
        units = [f_units, h_units, None, None]

        def stat(fm, hm, fr, hr):
            return privleak(auc_by_ranks(fm, hm), auc_by_ranks(fr, hr))
    return paired_bootstrap_ci(stat, groups, samples, seed, name="privleak", clusters=units)


#: C3's default tolerance band (``musebench.report.verdicts.VerdictRules.privleak_tolerance``), in PrivLeak %.
C3_TOLERANCE = 5.0


def c3_resolution_note(ci: list[float] | None, tolerance: float = C3_TOLERANCE) -> str | None:
    """The note an evaluation carries when PrivLeak's CI is wider than C3's band and not wholly outside it."""
    if not ci or ci[1] - ci[0] <= 2 * tolerance or ci[0] > tolerance or ci[1] < -tolerance:
        return None
    return (f"C3 not resolvable at this sample size: PrivLeak's 95 % CI [{ci[0]:+.1f}, {ci[1]:+.1f}] is wider "
            f"than C3's ±{tolerance:g} % band (more privacy texts, or a larger retrain set, would narrow it)")
