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
from typing import ClassVar

from musebench.criteria import SCORES, criterion_of
from musebench.evaluate.bootstrap import bootstrap_ci
from musebench.evaluate.cache import ResultCache
from musebench.evaluate.fingerprint import model_fingerprint, tokenizer_fingerprint
from musebench.evaluate.metrics import (
    auc,
    auc_by_ranks,
    lowercase_ratio,
    mean_nll,
    mink_score,
    minkpp_score,
    privleak,
    reference_ratio,
    tpr_at_fpr,
    zlib_ratio,
)
from musebench.evaluate.requests import LogprobRequest, TokenLogprobs
from musebench.evaluate.settings import MINK_PERCENTS
from musebench.evaluate.task import EvalContext, Task
from musebench.evaluate.tasks import privleak_length_limit

SPLITS = ("forget", "retain", "holdout")
TPR_FPRS = (0.01, 0.05)


def k_label(k: float) -> str:
    return f"{k:g}"


def attack_scores(
    text: str,
    stats: TokenLogprobs,
    lower: TokenLogprobs | None = None,
    reference: TokenLogprobs | None = None,
    ks=MINK_PERCENTS,
    suite: bool = True,
) -> dict[str, float]:
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


def privleak_ci(
    forget, holdout, retrain: MeasuredAUC, samples: int, seed: int, clusters: list | None = None
) -> list[float] | None:
    """PrivLeak's 95 % CI with both models' scores resampled: the same texts drawn for both (paired) when the
    two score lists are of the same texts (same lengths), else each model's texts drawn on their own.
    ``clusters``: the unit (person) of each forget and each holdout text, or None: whole units are drawn."""
    f_units, h_units = clusters or (None, None)
    from musebench.evaluate.bootstrap import bootstrap_ci
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

    return bootstrap_ci(stat, groups, samples, seed, name="privleak", clusters=units)


#: C3's default tolerance band (``musebench.report.verdicts.VerdictRules.privleak_tolerance``), in PrivLeak %.
C3_TOLERANCE = 5.0


def c3_resolution_note(ci: list[float] | None, tolerance: float = C3_TOLERANCE) -> str | None:
    """The note an evaluation carries when PrivLeak's CI is wider than C3's band and not wholly outside it."""
    if not ci or ci[1] - ci[0] <= 2 * tolerance or ci[0] > tolerance or ci[1] < -tolerance:
        return None
    return (
        f"C3 not resolvable at this sample size: PrivLeak's 95 % CI [{ci[0]:+.1f}, {ci[1]:+.1f}] is wider "
        f"than C3's ±{tolerance:g} % band (more privacy texts, or a larger retrain set, would narrow it)"
    )


class PrivLeak(Task):
    """C3: the headline Min-K% AUC (forget vs holdout) and PrivLeak against the retrain AUC.

    PrivLeak alone asks for one log-probs-only forward per text; ``suite=True`` (the opt-in ``privacy``
    criterion) adds every K, Min-K%++'s moments, zlib, the lower-cased twin, the retain split and the
    reference-model ratio, with the same AUC and PrivLeak (so it covers ``privleak``).
    """

    needs = criterion_of("privleak").needs
    scores = (SCORES["auc"], SCORES["privleak"])
    kind = "logprobs"
    group = "logprobs-privleak"
    provenance: ClassVar[dict] = {"privleak_length": None}

    def __init__(self, suite: bool = False):
        self.suite = suite
        if suite:
            self.name, self.default, self.covers = "privacy", False, ("privleak",)
            self.checked = (*self.needs, "privleak_retain")
            self.description = "the membership-inference suite (every attack, every split) with AUC and PrivLeak"
        else:
            self.name, self.aliases = "privleak", ("auc",)
            self.description = SCORES["privleak"].description

    def prefetch(self) -> None:
        import sklearn.metrics  # noqa: F401 - ~0.5 s of start-up (scipy)

    def _splits(self, corpus) -> dict[str, list[str]]:
        if self.suite and corpus.privleak_retain:
            return {
                "forget": corpus.privleak_forget,
                "retain": corpus.privleak_retain,
                "holdout": corpus.privleak_holdout,
            }
        return {"forget": corpus.privleak_forget, "holdout": corpus.privleak_holdout}

    def requests(self, ctx: EvalContext) -> list[LogprobRequest]:
        max_len = ctx.settings.privleak_max_length
        texts = [t for split in self._splits(ctx.corpus).values() for t in split]
        requests = [LogprobRequest(t, max_len, moments=self.suite) for t in texts]
        if self.suite:
            requests += [LogprobRequest(t.lower(), max_len, moments=False) for t in texts]  # NLL only
        return requests

    def outputs(self, ctx: EvalContext, requests):
        stats = super().outputs(ctx, requests)
        if ctx.reference_model is None:
            return stats, None
        from musebench.evaluate.runner import Runner

        settings, corpus = ctx.settings, ctx.corpus
        ref_cache = ResultCache(
            ctx.cache_dir,
            {
                "model": model_fingerprint(ctx.reference_model),
                "tokenizer": tokenizer_fingerprint(ctx.tokenizer),
                "corpus": corpus.fingerprint(),
                "settings": settings.scoring_key(),
                "device": ctx.device.type,
            },
        )
        ref_runner = Runner(ctx.reference_model, ctx.tokenizer, settings, ref_cache, ctx.runner.progress)
        texts = [t for split in self._splits(corpus).values() for t in split]
        ref = ref_runner.token_logprobs(
            self.group, [LogprobRequest(t, settings.privleak_max_length, moments=False) for t in texts]
        )
        return stats, ref

    def rows(self, ctx: EvalContext, requests, outputs) -> list[dict]:
        stats, ref_stats = outputs
        settings, suite, max_len = ctx.settings, self.suite, ctx.settings.privleak_max_length
        headline_k = float(settings.mink_k)
        ks = tuple(sorted(set(MINK_PERCENTS) | {headline_k})) if suite else (headline_k,)
        rows = []
        for split, split_texts in self._splits(ctx.corpus).items():
            for i, text in enumerate(split_texts):
                key = LogprobRequest(text, max_len, moments=suite).key()
                lower = stats[LogprobRequest(text.lower(), max_len, moments=False).key()] if suite else None
                ref = ref_stats[LogprobRequest(text, max_len, moments=False).key()] if ref_stats is not None else None
                rows.append(
                    {
                        "criterion": "privleak",
                        "split": split,
                        "index": i,
                        "input": text,
                        "n_tokens": stats[key].n_tokens,
                        "scores": attack_scores(text, stats[key], lower, ref, ks, suite=suite),
                    }
                )
        return rows

    def score(self, ctx: EvalContext, rows: list[dict]) -> None:
        by_split: dict[str, list[dict]] = {}
        for r in rows:
            by_split.setdefault(r["split"], []).append(r["scores"])
        headline = f"mink_{k_label(float(ctx.settings.mink_k))}"
        ctx.privacy = {
            "headline_attack": headline,
            "splits": {s: len(v) for s, v in by_split.items()},
            "suite": self.suite,
            "attacks": privacy_table(by_split),
        }
        rule = privleak_length_limit(
            ctx.tokenizer, [r["input"] for r in rows], ctx.settings.privleak_max_length, lowercase_twins=self.suite
        )
        ctx.provenance["privleak_length"] = rule
        cut = rule["texts_cut"] + rule.get("lowercase_twins_cut", 0)
        if cut:
            ctx.notes.append(
                f"PrivLeak: privacy texts cut to {rule['max_length']} tokens "
                f"(privleak_max_length): {rule['texts_cut']} of {rule['texts']} texts, "
                f"{rule.get('lowercase_twins_cut', 0)} lower-cased twins; MUSE scores whole texts"
            )
        forget = [s[headline] for s in by_split["forget"]]
        holdout = [s[headline] for s in by_split["holdout"]]
        scores, ci, boot, retrain = ctx.scores, ctx.ci, ctx.boot, ctx.retrain_auc
        scores["auc"] = auc(forget, holdout)
        # resample people when the corpus says whose text each one is (else texts)
        units = [ctx.corpus.unit_labels("privleak_forget"), ctx.corpus.unit_labels("privleak_holdout")]
        ci["auc"] = bootstrap_ci(auc_by_ranks, [(forget,), (holdout,)], name="auc", clusters=units, **boot)
        ctx.privacy.update(retrain_auc=retrain, retrain_auc_source=ctx.retrain_source)
        if retrain is None:
            scores["privleak"] = None
            ci["privleak"] = None
            ctx.notes.append(
                "PrivLeak unavailable: no retrain AUC known. Pass --retrain DIR (measured) or "
                "--retrain-auc X|news|books (a constant); it is never assumed to be 0.5."
            )
            return
        scores["privleak"] = privleak(scores["auc"], retrain)
        if isinstance(retrain, MeasuredAUC):  # both AUCs uncertain: resample both models' scores
            ci["privleak"] = privleak_ci(forget, holdout, retrain, clusters=units, **boot)
        else:  # a constant: PrivLeak is an increasing affine map of the AUC, its percentiles the AUC's
            ci["privleak"] = [privleak(v, retrain) for v in ci["auc"]] if ci["auc"] else None
        note = c3_resolution_note(ci["privleak"])
        if note:
            ctx.notes.append(note)
