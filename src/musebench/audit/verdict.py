"""The audit's verdict, reached without a retrain model: the forget documents against the never-seen level.

The never-seen level is the same probes on the holdout documents (same distribution, never trained on).
Without a holdout it is a reference model that never saw the documents, on the same forget probes (paired
by document). With both, each document's value is first taken relative to the reference model (model minus
reference; for membership the NLL ratio to the reference), and forget is compared with holdout on that: a
holdout that is easier or harder than the forget set for *both* models (a shifted holdout) cancels out.

Every probe gives a per-document value (higher = more memorised). The tests resample the unit of
independence (``musebench.audit.stats``: permutation / sign-flip p-values, cluster-bootstrap CIs).

RULE (``RULE`` below, printed in every report):

- **leak**: a probe's excess over the never-seen level is significant after Holm's correction over every
  probe of the audit *and* every probe of every attack (family-wise false alarms <= ``alpha``, 5 %);
- **below unseen**: significantly lower, with the same correction (over-unlearned: detectable too);
- **indistinguishable**: an equivalence test (two one-sided tests, 90 % CI) puts the excess within
  +-``equivalence_margin`` standardised units, with at least ``min_units_equivalence`` units a side;
- **inconclusive**: neither; the audit names how many units (documents, or people) would be needed;
- **uninformative**: the probe has no variance at all (0 vs 0: the model cannot answer it); excluded.

The model is "indistinguishable from unseen" only when every informative probe (and every attacked copy's)
is; any leak makes the verdict "leak"; otherwise it is "below unseen" or "inconclusive".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from musebench.audit.measure import Measurement, headline_attack
from musebench.audit.settings import AuditSettings
from musebench.audit.stats import Side, TestResult, holm, paired, two_sample, units_needed
from musebench.evaluate.bootstrap import bootstrap_ci
from musebench.evaluate.metrics import auc, auc_by_ranks

RULE = (
    "A probe leaks when its excess over the never-seen level is significant after Holm's correction over "
    "every probe of the model and of every attacked copy (family-wise false alarms <= 5 %; permutation tests "
    "that move whole units - people or sources when the documents say so - between the two sides). It is "
    "indistinguishable only when an equivalence test (90 % cluster-bootstrap CI within +-margin) passes with "
    "enough units a side; uninformative probes (no variance on either side) are left out. The model is "
    "indistinguishable from unseen when every informative probe is; one leak makes the verdict 'leak'; "
    "anything else is inconclusive, with the number of units that would be needed."
)

#: probe -> (label, unit): what the report's table calls it
PROBES: dict[str, tuple[str, str]] = {
    "verbatim_rougeL": ("Verbatim: ROUGE-L F1 of the greedy continuation", "0-100"),
    "verbatim_exact": ("Verbatim: continuations reproduced exactly (% of chunks)", "%"),
    "knowledge_em": ("Knowledge: cloze exact match", "%"),
    "knowledge_rougeL": ("Knowledge: cloze ROUGE-L F1", "0-100"),
    "membership": ("Membership: Min-K% AUC forget vs never-seen (0.5 = unseen)", "0-1"),
}
FAMILY = {
    "verbatim_rougeL": "verbatim",
    "verbatim_exact": "verbatim",
    "knowledge_em": "knowledge",
    "knowledge_rougeL": "knowledge",
    "membership": "membership",
}
VERDICT_TEXT = {
    "leak": "LEAK: the forget documents are still recognisably learned",
    "indistinguishable": "INDISTINGUISHABLE FROM UNSEEN on every informative probe (equivalence test)",
    "below_unseen": "DISTINGUISHABLE, below the never-seen level (over-unlearned) on some probe",
    "inconclusive": "INCONCLUSIVE: no leak found, but too few documents to show the model is like unseen",
}


@dataclass
class ProbeStat:
    probe: str
    label: str
    forget: float | None
    forget_ci: list[float] | None
    unseen: float | None
    unseen_ci: list[float] | None
    excess: float | None
    excess_ci: list[float] | None
    n_forget: int
    n_unseen: int
    status: str  # leak, below_unseen, indistinguishable, inconclusive, uninformative, not_judged
    units: list[int] = field(default_factory=list)  # units (people, sources or documents) per side
    p_leak: float | None = None  # one-sided, before the family-wise correction
    min_p: float | None = None  # the smallest p-value reachable with these units
    p_below: float | None = None
    excess_ci90: list[float] | None = None
    margin: float | None = None  # the equivalence margin in the probe's units
    units_needed: int | None = None  # per side, for the equivalence test to pass at a zero difference

    def to_dict(self) -> dict:
        return asdict(self)


def bootstrap(
    stat: Callable[..., float], groups: Sequence[Sequence[np.ndarray]], samples: int, seed: int, name: str
) -> list[float] | None:
    """Percentile 95% CI of ``stat``; each group is a tuple of aligned arrays resampled with the same rows.

    Aligned arrays (the same documents under two models) keep their pairing; groups are resampled
    independently. Seeded by ``seed`` and ``name`` so a CI does not depend on what was computed before it.
    """
    return bootstrap_ci(stat, groups, samples, seed, name)


def _mean(a) -> float:
    return float(np.mean(a))


def _diff(f, h) -> float:
    return float(np.mean(f) - np.mean(h))


def _auc_excess(f, h) -> float:
    return 0.5 - auc_by_ranks(f, h)  # lower score = member: a memorised forget set has AUC ~0, excess ~0.5


def value_probes(m: Measurement, settings: AuditSettings) -> list[str]:
    keys = [p for p in PROBES if p != "membership" and FAMILY[p] in settings.probes]
    return [p for p in keys if m.per_doc.get("forget", {}).get(p)]


Groups = dict[str, Sequence | None]


def _labels(groups: Groups | None, role: str, docs: Sequence[int]) -> list:
    labels = (groups or {}).get(role)
    return [f"{role}:{labels[d]}" if labels is not None else f"{role}#{d}" for d in docs]


def _auc_margin(d: float) -> float:
    """The AUC distance from 0.5 of two normal samples ``d`` standard deviations apart: Phi(d / sqrt 2) - 0.5."""
    return 0.5 * math.erf(d / 2) if d > 0 else 0.0


def _stat(
    probe,
    label,
    f_level,
    f_ci,
    h_level,
    h_ci,
    test: TestResult | None,
    n_f,
    n_h,
    margin,
    informative: bool,
    settings: AuditSettings,
) -> ProbeStat:
    if not informative:
        status = "uninformative"
    elif test is None or min(test.n_units) < settings.min_documents:
        status = "not_judged"
    else:
        status = "pending"  # set by ``calibrate`` once the whole family is known
    excess = test.observed if test else (f_level - h_level if None not in (f_level, h_level) else None)
    return ProbeStat(
        probe,
        label,
        f_level,
        f_ci,
        h_level,
        h_ci,
        excess,
        test.ci95 if test else None,
        n_f,
        n_h,
        status,
        units=list(test.n_units) if test else [],
        p_leak=test.p_higher if test else None,
        min_p=test.min_p if test else None,
        p_below=test.p_lower if test else None,
        excess_ci90=test.ci90 if test else None,
        margin=margin,
        units_needed=units_needed(min(test.n_units), test.ci90, margin, settings.min_units_equivalence)
        if test and margin
        else None,
    )


def _level_ci(values: np.ndarray, labels: list, settings: AuditSettings, name: str) -> list[float] | None:
    from musebench.audit.stats import paired as _paired

    side = Side.of(values, labels)
    return _paired(side, settings.eval.bootstrap_samples, settings.eval.seed, name).ci95 if len(values) else None


def probe_stats(
    m: Measurement,
    settings: AuditSettings,
    reference: Measurement | None = None,
    groups: Groups | None = None,
    name: str = "model",
) -> dict[str, ProbeStat]:
    """Every probe's forget level, never-seen level, excess and tests (status "pending" until ``calibrate``).

    ``m`` holds forget and holdout rows (holdout mode, corrected by ``reference`` when given), or forget rows
    only with ``reference`` the same probes on a reference model (paired mode). ``groups[role][doc]`` is the
    unit a document belongs to. A single call is calibrated on its own; ``calibrate`` joins families.
    """
    out = _raw_stats(m, settings, reference, groups, name)
    calibrate([out], settings)
    return out


def _raw_stats(m, settings, reference, groups, name) -> dict[str, ProbeStat]:
    samples, seed = settings.eval.bootstrap_samples, settings.eval.seed
    holdout = "holdout" in m.per_doc or "holdout" in m.membership
    out: dict[str, ProbeStat] = {}
    d = settings.equivalence_margin
    for probe in value_probes(m, settings):
        f_by_doc = m.doc_means("forget", probe)
        tag = f"{name}:{probe}"
        if holdout:
            h_by_doc = m.doc_means("holdout", probe)
            fd, hd = list(f_by_doc), list(h_by_doc)
            f, h = np.array([f_by_doc[x] for x in fd]), np.array([h_by_doc[x] for x in hd])
            if reference is not None:  # each document relative to the reference model: a shifted holdout cancels
                rf, rh = reference.doc_means("forget", probe), reference.doc_means("holdout", probe)
                fd, hd = [x for x in fd if x in rf], [x for x in hd if x in rh]
                f = np.array([f_by_doc[x] - rf[x] for x in fd])
                h = np.array([h_by_doc[x] - rh[x] for x in hd])
            informative = len(f) > 0 and len(h) > 0 and float(np.ptp(np.concatenate([f, h]))) > 0
            fs, hs = Side.of(f, _labels(groups, "forget", fd)), Side.of(h, _labels(groups, "holdout", hd))
            test = two_sample(None, fs, hs, samples, seed, tag) if informative and len(f) and len(h) else None
            sd = float(np.std(np.concatenate([f, h]), ddof=1)) if len(f) + len(h) > 1 else 0.0
            f_ci = _level_ci(f, _labels(groups, "forget", fd), settings, f"{tag}:f")
            h_ci = _level_ci(h, _labels(groups, "holdout", hd), settings, f"{tag}:h")
            out[probe] = _stat(
                probe,
                PROBES[probe][0],
                _mean(f) if len(f) else None,
                f_ci,
                _mean(h) if len(h) else None,
                h_ci,
                test,
                len(f),
                len(h),
                d * sd,
                informative,
                settings,
            )
        else:
            r_by_doc = reference.doc_means("forget", probe)
            docs = [x for x in f_by_doc if x in r_by_doc]
            f = np.array([f_by_doc[x] for x in docs])
            h = np.array([r_by_doc[x] for x in docs])
            informative = len(f) > 0 and float(np.ptp(np.concatenate([f, h]))) > 0
            diff = Side.of(f - h, _labels(groups, "forget", docs))
            test = paired(diff, samples, seed, tag) if informative else None
            sd = float(np.std(np.concatenate([f, h]), ddof=1)) if len(f) > 1 else 0.0
            labels = _labels(groups, "forget", docs)
            out[probe] = _stat(
                probe,
                PROBES[probe][0],
                _mean(f) if len(f) else None,
                _level_ci(f, labels, settings, f"{tag}:f"),
                _mean(h) if len(h) else None,
                _level_ci(h, labels, settings, f"{tag}:h"),
                test,
                len(f),
                len(h),
                d * sd,
                informative,
                settings,
            )
    if "membership" in settings.probes and m.membership.get("forget"):
        out["membership"] = membership_stat(m, settings, reference, groups, name)
    return out


def membership_stat(
    m: Measurement,
    settings: AuditSettings,
    reference: Measurement | None,
    groups: Groups | None = None,
    name: str = "model",
) -> ProbeStat:
    samples, seed = settings.eval.bootstrap_samples, settings.eval.seed
    attack = headline_attack(settings)
    tag = f"{name}:membership"
    if "holdout" in m.membership:
        fd, hd = list(m.membership["forget"]), list(m.membership["holdout"])
        if reference is not None and "holdout" in reference.membership:  # the reference-ratio attack
            rf, rh = reference.membership["forget"], reference.membership["holdout"]
            fd, hd = [x for x in fd if x in rf], [x for x in hd if x in rh]
            f = np.array([m.membership["forget"][x]["nll"] / rf[x]["nll"] for x in fd])
            h = np.array([m.membership["holdout"][x]["nll"] / rh[x]["nll"] for x in hd])
            label = "Membership: AUC of NLL / NLL(reference), forget vs never-seen (0.5 = unseen)"
        else:
            f = np.array([m.membership["forget"][x][attack] for x in fd])
            h = np.array([m.membership["holdout"][x][attack] for x in hd])
            label = PROBES["membership"][0].replace("Min-K%", f"Min-{settings.eval.mink_k:g}%")
        value = auc(f, h)
        test = two_sample(
            _auc_excess,
            Side.of(f, _labels(groups, "forget", fd)),
            Side.of(h, _labels(groups, "holdout", hd)),
            samples,
            seed,
            tag,
        )
        ci = [0.5 - test.ci95[1], 0.5 - test.ci95[0]] if test.ci95 else None
        return _stat(
            "membership",
            label,
            value,
            ci,
            0.5,
            [0.5, 0.5],
            test,
            len(f),
            len(h),
            _auc_margin(settings.equivalence_margin),
            True,
            settings,
        )
    # paired: NLL under the model / NLL under the reference model, per forget document (1 = unseen level)
    docs = [x for x in m.membership["forget"] if x in reference.membership["forget"]]
    ratio = np.array([m.membership["forget"][x]["nll"] / reference.membership["forget"][x]["nll"] for x in docs])
    labels = _labels(groups, "forget", docs)
    test = paired(Side.of(1 - ratio, labels), samples, seed, tag)
    sd = float(np.std(ratio, ddof=1)) if len(ratio) > 1 else 0.0
    ci = [1 - test.ci95[1], 1 - test.ci95[0]] if test.ci95 else None
    return _stat(
        "membership",
        "Membership: NLL / NLL(reference model) on forget (1 = unseen)",
        _mean(ratio),
        ci,
        1.0,
        [1.0, 1.0],
        test,
        len(ratio),
        len(ratio),
        settings.equivalence_margin * sd,
        sd > 0,
        settings,
    )


def calibrate(families: Sequence[dict[str, ProbeStat]], settings: AuditSettings) -> None:
    """Statuses for every judged probe of every family together (the model and each attacked copy):
    Holm over all their leak p-values (and, apart, over the below-unseen ones), then the equivalence test."""
    judged = [s for fam in families for s in fam.values() if s.status not in ("uninformative", "not_judged")]
    reachable = [s.min_p for s in judged]
    leak = holm([s.p_leak for s in judged], settings.alpha, reachable)
    below = holm([s.p_below for s in judged], settings.alpha, reachable)
    for s, is_leak, is_below in zip(judged, leak, below):
        if is_leak:
            s.status = "leak"
        elif is_below:
            s.status = "below_unseen"
        elif (
            s.excess_ci90 is not None
            and s.margin
            and -s.margin <= s.excess_ci90[0]
            and s.excess_ci90[1] <= s.margin
            and min(s.units) >= settings.min_units_equivalence
        ):
            s.status = "indistinguishable"
        else:
            s.status = "inconclusive"


def overall(*families: dict[str, ProbeStat]) -> str:
    statuses = [s.status for fam in families for s in fam.values()]
    judged = [x for x in statuses if x not in ("uninformative", "not_judged")]
    if "leak" in judged:
        return "leak"
    if "below_unseen" in judged:
        return "below_unseen"
    if judged and all(x == "indistinguishable" for x in judged):
        return "indistinguishable"
    return "inconclusive"


def needed(*families: dict[str, ProbeStat]) -> int | None:
    """Units a side that every probe short of equivalence would need (the largest), None when none is short."""
    short = [
        s.units_needed
        for fam in families
        for s in fam.values()
        if s.status == "inconclusive" and s.units_needed is not None
    ]
    return max(short) if short else None


def reference_ratios(m: Measurement, reference: Measurement, role: str = "forget") -> np.ndarray:
    """NLL under ``m`` / NLL under ``reference`` per document both probed (the reference-ratio attack)."""
    own, ref = m.membership[role], reference.membership[role]
    return np.array([own[d]["nll"] / ref[d]["nll"] for d in own if d in ref])


def attack_suite(m: Measurement, settings: AuditSettings, reference: Measurement | None = None) -> dict | None:
    """Every membership attack's AUC (forget vs holdout) with its CI; the reference ratio with a reference."""
    if "holdout" not in m.membership:
        return None
    forget, holdout = list(m.membership["forget"].values()), list(m.membership["holdout"].values())
    columns = {a: ([s[a] for s in forget], [s[a] for s in holdout]) for a in forget[0]}
    if reference is not None and "holdout" in reference.membership:
        columns["reference"] = (
            reference_ratios(m, reference, "forget"),
            reference_ratios(m, reference, "holdout"),
        )
    suite = {}
    for attack, (f, h) in columns.items():
        suite[attack] = {
            "auc": auc(f, h),
            "ci": bootstrap(
                auc_by_ranks,
                [(np.asarray(f),), (np.asarray(h),)],
                name=f"suite:{attack}",
                samples=settings.eval.bootstrap_samples,
                seed=settings.eval.seed,
            ),
        }
    return suite


def change(after: Measurement, before: Measurement, settings: AuditSettings) -> dict[str, dict]:
    """Per probe, the forget level after minus before unlearning, with a CI paired by document."""
    boot = dict(samples=settings.eval.bootstrap_samples, seed=settings.eval.seed)
    out = {}
    for probe in value_probes(after, settings):
        a, b = after.doc_means("forget", probe), before.doc_means("forget", probe)
        docs = [d for d in a if d in b]
        x, y = np.array([a[d] for d in docs]), np.array([b[d] for d in docs])
        out[probe] = {
            "before": _mean(y),
            "after": _mean(x),
            "change": _diff(x, y),
            "change_ci": bootstrap(_diff, [(x, y)], name=f"{probe}:change", **boot),
        }
    if "membership" in settings.probes and after.membership.get("forget") and "holdout" in after.membership:
        attack = headline_attack(settings)

        def col(m: Measurement, role: str, docs) -> np.ndarray:
            return np.array([m.membership[role][d][attack] for d in docs])

        fdocs = [d for d in after.membership["forget"] if d in before.membership["forget"]]
        hdocs = [d for d in after.membership["holdout"] if d in before.membership["holdout"]]
        fa, fb = col(after, "forget", fdocs), col(before, "forget", fdocs)
        ha, hb = col(after, "holdout", hdocs), col(before, "holdout", hdocs)
        stat = lambda fa_, fb_, ha_, hb_: auc_by_ranks(fa_, ha_) - auc_by_ranks(fb_, hb_)  # noqa: E731
        out["membership"] = {
            "before": auc(fb, hb),
            "after": auc(fa, ha),
            "change": auc(fa, ha) - auc(fb, hb),
            "change_ci": bootstrap(stat, [(fa, fb), (ha, hb)], name="membership:change", **boot),
        }
    return out


def leaking_documents(
    m: Measurement, stats: dict[str, ProbeStat], reference: Measurement | None = None, top: int = 5
) -> list[dict]:
    """Forget documents ranked by their excess over the never-seen level (verbatim + knowledge ROUGE-L)."""
    keys = [k for k in ("verbatim_rougeL", "knowledge_rougeL") if k in stats]
    if not keys:
        return []
    excess: dict[int, float] = {}
    for k in keys:
        own = m.doc_means("forget", k)
        level = reference.doc_means("forget", k) if reference is not None else None
        for d, v in own.items():
            base = level.get(d, stats[k].unseen) if level is not None else stats[k].unseen
            excess[d] = excess.get(d, 0.0) + v - base
    ranked = sorted(excess, key=lambda d: (-excess[d], d))[:top]
    out = []
    for d in ranked:
        rows = [r for r in m.rows if r["role"] == "forget" and r["doc"] == d and r["family"] != "membership"]
        verbatim = max((r for r in rows if r["family"] == "verbatim"), key=lambda r: r["rougeL"], default=None)
        cloze = max(
            (r for r in rows if r["family"] == "knowledge"),
            key=lambda r: (r["exact"], r["rougeL"]),
            default=None,
        )
        out.append(
            {
                "doc": d,
                "excess": excess[d],
                **{k: m.doc_means("forget", k).get(d) for k in stats if k != "membership"},
                "verbatim_example": verbatim,
                "knowledge_example": cloze,
            }
        )
    return out
