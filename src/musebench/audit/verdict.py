"""The audit's verdict, reached without a retrain model: the forget documents against the never-seen level.

The never-seen level is the same probes on the holdout documents (same distribution, never trained on).
Without a holdout it is a reference model that never saw the documents, on the same forget probes (paired
by document). Every probe gives a per-document value (higher = more memorised); the statistic is the mean
over documents, and its 95% CI comes from a percentile bootstrap over documents (chunks and sentences of
one document are not independent, so documents are the resampled unit).

RULE: a probe **leaks** when the 95% CI of its excess (forget level minus never-seen level; for membership
0.5 minus the Min-K% AUC, or 1 minus the NLL ratio to the reference) lies entirely above 0; it is **below
unseen** when the CI lies entirely below 0 (the forget documents look *less* familiar than unseen ones: a
tell-tale of unlearning, as a positive PrivLeak); otherwise it is **indistinguishable**. A probe with fewer
than ``min_documents`` documents on either side is reported but not judged. The model is
"indistinguishable from unseen" only when every judged probe is; any leaking probe makes the verdict "leak".
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from musebench.audit.measure import Measurement, headline_attack
from musebench.audit.settings import AuditSettings
from musebench.evaluate.metrics import auc, auc_by_ranks

RULE = (
    "A probe leaks when the 95% bootstrap CI (documents resampled) of its excess over the never-seen level "
    "lies entirely above 0, and is 'below unseen' when it lies entirely below 0; otherwise it is "
    "indistinguishable. The model is indistinguishable from unseen when every judged probe is; one leaking "
    "probe (on the model or on any attacked copy of it) makes the verdict 'leak'."
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
    "indistinguishable": "INDISTINGUISHABLE FROM UNSEEN on every probe",
    "below_unseen": "DISTINGUISHABLE, below the never-seen level (over-unlearned) on some probe",
    "inconclusive": "INCONCLUSIVE: too few documents to judge any probe",
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
    status: str  # leak, indistinguishable, below_unseen, not_judged

    def to_dict(self) -> dict:
        return asdict(self)


def bootstrap(
    stat: Callable[..., float], groups: Sequence[Sequence[np.ndarray]], samples: int, seed: int, name: str
) -> list[float] | None:
    """Percentile 95% CI of ``stat``; each group is a tuple of aligned arrays resampled with the same rows.

    Aligned arrays (the same documents under two models) keep their pairing; groups are resampled
    independently. Seeded by ``seed`` and ``name`` so a CI does not depend on what was computed before it.
    """
    groups = [[np.asarray(a, dtype=np.float64) for a in g] for g in groups]
    if any(len(g[0]) == 0 for g in groups):
        return None
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    values = []
    for _ in range(samples):
        args = []
        for g in groups:
            idx = rng.integers(0, len(g[0]), len(g[0]))
            args += [a[idx] for a in g]
        values.append(stat(*args))
    values = np.asarray(values)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [float(lo), float(hi)]


def judge(excess_ci: list[float] | None, n_forget: int, n_unseen: int, min_documents: int) -> str:
    if excess_ci is None or min(n_forget, n_unseen) < min_documents:
        return "not_judged"
    lo, hi = excess_ci
    if lo > 0:
        return "leak"
    if hi < 0:
        return "below_unseen"
    return "indistinguishable"


def _mean(a) -> float:
    return float(np.mean(a))


def _diff(f, h) -> float:
    return float(np.mean(f) - np.mean(h))


def value_probes(m: Measurement, settings: AuditSettings) -> list[str]:
    keys = [p for p in PROBES if p != "membership" and FAMILY[p] in settings.probes]
    return [p for p in keys if m.per_doc.get("forget", {}).get(p)]


def probe_stats(
    m: Measurement, settings: AuditSettings, reference: Measurement | None = None
) -> dict[str, ProbeStat]:
    """Every probe's forget level, never-seen level, excess and status.

    ``m`` holds forget and holdout rows (holdout mode), or forget rows only with ``reference`` the same
    probes on a reference model (paired mode).
    """
    boot = dict(samples=settings.bootstrap_samples, seed=settings.seed)
    paired = "holdout" not in m.per_doc and "holdout" not in m.membership
    out: dict[str, ProbeStat] = {}
    for probe in value_probes(m, settings):
        f_by_doc = m.doc_means("forget", probe)
        if paired:
            r_by_doc = reference.doc_means("forget", probe)
            docs = [d for d in f_by_doc if d in r_by_doc]
            f = np.array([f_by_doc[d] for d in docs])
            h = np.array([r_by_doc[d] for d in docs])
            excess_ci = bootstrap(_diff, [(f, h)], name=f"{probe}:excess", **boot)
        else:
            f = np.array(list(f_by_doc.values()))
            h = np.array(list(m.doc_means("holdout", probe).values()))
            excess_ci = bootstrap(_diff, [(f,), (h,)], name=f"{probe}:excess", **boot)
        out[probe] = ProbeStat(
            probe,
            PROBES[probe][0],
            _mean(f),
            bootstrap(_mean, [(f,)], name=f"{probe}:f", **boot),
            _mean(h),
            bootstrap(_mean, [(h,)], name=f"{probe}:h", **boot),
            _diff(f, h),
            excess_ci,
            len(f),
            len(h),
            judge(excess_ci, len(f), len(h), settings.min_documents),
        )
    if "membership" in settings.probes and m.membership.get("forget"):
        out["membership"] = membership_stat(m, settings, reference)
    return out


def membership_stat(m: Measurement, settings: AuditSettings, reference: Measurement | None) -> ProbeStat:
    boot = dict(samples=settings.bootstrap_samples, seed=settings.seed)
    attack = headline_attack(settings)
    f = np.array([s[attack] for s in m.membership["forget"].values()])
    if "holdout" in m.membership:
        h = np.array([s[attack] for s in m.membership["holdout"].values()])
        value = auc(f, h)
        ci = bootstrap(auc_by_ranks, [(f,), (h,)], name="membership:auc", **boot)
        excess_ci = [0.5 - ci[1], 0.5 - ci[0]] if ci else None
        label = PROBES["membership"][0].replace("Min-K%", f"Min-{settings.mink_k:g}%")
        return ProbeStat(
            "membership",
            label,
            value,
            ci,
            0.5,
            [0.5, 0.5],
            0.5 - value,
            excess_ci,
            len(f),
            len(h),
            judge(excess_ci, len(f), len(h), settings.min_documents),
        )
    # paired: NLL under the model / NLL under the reference model, per forget document (1 = unseen level)
    ratio = reference_ratios(m, reference)
    ci = bootstrap(_mean, [(ratio,)], name="membership:ratio", **boot)
    excess_ci = [1 - ci[1], 1 - ci[0]] if ci else None
    return ProbeStat(
        "membership",
        "Membership: NLL / NLL(reference model) on forget (1 = unseen)",
        _mean(ratio),
        ci,
        1.0,
        [1.0, 1.0],
        1 - _mean(ratio),
        excess_ci,
        len(ratio),
        len(ratio),
        judge(excess_ci, len(ratio), len(ratio), settings.min_documents),
    )


def reference_ratios(m: Measurement, reference: Measurement, role: str = "forget") -> np.ndarray:
    """NLL under ``m`` / NLL under ``reference`` per document both probed (the reference-ratio attack)."""
    own, ref = m.membership[role], reference.membership[role]
    return np.array([own[d]["nll"] / ref[d]["nll"] for d in own if d in ref])


def attack_suite(
    m: Measurement, settings: AuditSettings, reference: Measurement | None = None
) -> dict | None:
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
                samples=settings.bootstrap_samples,
                seed=settings.seed,
            ),
        }
    return suite


def overall(stats: dict[str, ProbeStat]) -> str:
    judged = [s.status for s in stats.values() if s.status != "not_judged"]
    if not judged:
        return "inconclusive"
    if "leak" in judged:
        return "leak"
    if "below_unseen" in judged:
        return "below_unseen"
    return "indistinguishable"


def change(after: Measurement, before: Measurement, settings: AuditSettings) -> dict[str, dict]:
    """Per probe, the forget level after minus before unlearning, with a CI paired by document."""
    boot = dict(samples=settings.bootstrap_samples, seed=settings.seed)
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
        verbatim = max(
            (r for r in rows if r["family"] == "verbatim"), key=lambda r: r["rougeL"], default=None
        )
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
