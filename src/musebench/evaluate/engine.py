"""``evaluate``: the six-way MUSE evaluation of one model on one corpus.

Phase 1 turns the selected criteria into generate / token-log-prob requests, which the runner
deduplicates, batches and caches; phase 2 applies the pure metric functions to the per-example outputs
and adds seeded bootstrap CIs. Everything is validated before the first forward pass.
"""

from __future__ import annotations

import datetime as _dt

import torch

from musebench.errors import ConfigError, DataError
from musebench.evaluate.bootstrap import bootstrap_ci
from musebench.evaluate.cache import ENGINE_VERSION, ResultCache
from musebench.evaluate.fingerprint import model_fingerprint, tokenizer_fingerprint
from musebench.evaluate.metrics import (
    METRICS,
    SELECTABLE,
    auc,
    auc_by_ranks,
    mean_x100,
    privleak,
    reported_mean_x100,
    rows_mean_x100,
)
from musebench.evaluate.model_io import model_device
from musebench.evaluate.privacy import (
    MeasuredAUC,
    attack_scores,
    c3_resolution_note,
    k_label,
    privacy_table,
    privleak_ci,
)
from musebench.evaluate.requests import LogprobRequest
from musebench.evaluate.result import EvalResult
from musebench.evaluate.runner import Runner
from musebench.evaluate.settings import MINK_PERCENTS, EvalSettings, resolve_retrain_auc
from musebench.evaluate.sharding import current_shard
from musebench.evaluate.tasks import (
    knowmem_requests,
    knowmem_rows,
    knowmem_shots,
    privleak_length_limit,
    trailing_space_is_lone_token,
    verbmem_requests,
    verbmem_rows,
)
from musebench.versions import package_versions

#: What each selectable criterion needs from the corpus (attribute names of ``Corpus``).
NEEDS: dict[str, tuple[str, ...]] = {
    "verbmem_f": ("verbmem_forget",),
    "knowmem_f": ("knowmem_forget_qa",),
    "knowmem_r": ("knowmem_retain_qa",),
    "privleak": ("privleak_forget", "privleak_holdout"),
    "privacy": ("privleak_forget", "privleak_holdout"),
}
ALIASES = {"auc": "privleak", "utility": "knowmem_r", "verbmem": "verbmem_f"}


#: The membership-inference suite costs a second forward per text and the moments of every next-token
#: distribution (~3x the work of PrivLeak alone): only computed when asked for by name or with 'all'.
OPT_IN = ("privacy",)


def resolve_metrics(corpus, metrics) -> list[str]:
    """The criteria to compute, in MUSE order; unknown names and missing corpus parts fail together.

    Default: every MUSE criterion the corpus has data for; 'all' adds the opt-in membership suite.
    """
    if isinstance(metrics, str):
        metrics = [m for m in metrics.split(",") if m.strip()]
    if metrics is None or list(metrics) in (["all"], []):
        everything = metrics is not None and list(metrics) == ["all"]
        return [m for m in SELECTABLE if all(getattr(corpus, p) for p in NEEDS[m])
                and (everything or m not in OPT_IN)]
    chosen = [ALIASES.get(m.strip().lower(), m.strip().lower()) for m in metrics]
    unknown = [m for m in chosen if m not in SELECTABLE]
    if unknown:
        raise ConfigError(f"unknown metric; choose from {', '.join(SELECTABLE)} or 'all'", field="metrics",
                          value=unknown if len(unknown) > 1 else unknown[0])
    lacking = [f"{m} needs {p}" for m in chosen for p in NEEDS[m] if not getattr(corpus, p)]
    if lacking:
        raise DataError("corpus lacks data for the selected metrics: " + "; ".join(lacking),
                        file=getattr(corpus, "source", None) or corpus.name, field="metrics")
    return [m for m in SELECTABLE if m in chosen]


def check_texts(corpus, selected: list[str]) -> None:
    """Empty prompts or texts cannot be scored: report every one of them before any model call."""
    problems = []
    parts = {"verbmem_f": [("verbmem_forget", lambda r: r.prompt)],
             "knowmem_f": [("knowmem_forget_qa", lambda r: r.question)],
             "knowmem_r": [("knowmem_retain_qa", lambda r: r.question)],
             "privleak": [("privleak_forget", str), ("privleak_holdout", str)],
             "privacy": [("privleak_forget", str), ("privleak_holdout", str), ("privleak_retain", str)]}
    for m in selected:
        for attr, text_of in parts[m]:
            problems += [f"{attr}[{i}]" for i, r in enumerate(getattr(corpus, attr)) if not text_of(r).strip()]
    if problems:
        raise DataError(f"{len(problems)} empty text(s): {', '.join(sorted(set(problems))[:10])}",
                        file=getattr(corpus, "source", None) or corpus.name)


def prefetch_scorer_modules(selected: list[str]):
    """Import ROUGE (rouge_score pulls in nltk) and sklearn (scipy) in a background thread while the model runs.

    They are needed only after the forward passes, and importing them costs ~1.5 CPU seconds of start-up.
    Importing is thread-safe (the import lock); torch releases the GIL during its kernels, so this overlaps.
    The caller joins the returned thread before it returns: no import is left running (e.g. across a fork).
    """
    import threading

    from musebench.evaluate import metrics

    def load():
        try:
            if any(m.startswith(("verbmem", "knowmem")) for m in selected):
                metrics._rouge_l()
            if "privleak" in selected or "privacy" in selected:
                import sklearn.metrics  # noqa: F401
        except Exception:  # noqa: BLE001 - the main thread meets the same error where it can report it
            pass

    thread = threading.Thread(target=load, name="musebench-prefetch", daemon=True)
    thread.start()
    return thread


def evaluate(model, tokenizer, corpus, settings: EvalSettings | None = None, metrics=None,
             retrain_auc: float | str | None = None, cache_dir=None, progress: bool = True, *,
             reference_model=None, force: bool = False) -> EvalResult:
    """Score ``model`` on ``corpus`` (MUSE C1-C4; the membership suite when asked); see ``EvalResult``.

    ``retrain_auc``: a measured retrain AUC, or 'news' / 'books' for the release constants; without it
    PrivLeak is reported as unavailable (never against a made-up 0.5). ``reference_model`` (same tokenizer)
    adds the NLL-ratio attack. ``cache_dir`` makes the run resumable; ``force`` recomputes.
    """
    settings = settings or EvalSettings()
    selected = resolve_metrics(corpus, metrics)
    check_texts(corpus, selected)
    retrain_value, retrain_source = resolve_retrain_auc(retrain_auc)
    if isinstance(retrain_auc, MeasuredAUC):
        retrain_value, retrain_source = retrain_auc, "measured (its per-text scores resampled with the model's)"
    prefetch = prefetch_scorer_modules(selected)
    try:
        return _evaluate(model, tokenizer, corpus, settings, selected, retrain_value, retrain_source, cache_dir,
                         progress, reference_model, force)
    finally:
        prefetch.join()


def _evaluate(model, tokenizer, corpus, settings, selected, retrain_value, retrain_source, cache_dir, progress,
              reference_model, force) -> EvalResult:
    device = model_device(model)
    fingerprints = {"model": model_fingerprint(model), "tokenizer": tokenizer_fingerprint(tokenizer),
                    "corpus": corpus.fingerprint()}
    cache = ResultCache(cache_dir, {**fingerprints, "settings": settings.scoring_key(), "device": device.type})
    if force and current_shard().is_main:  # the others start storing only after the main one's first broadcast
        cache.clear()
    runner = Runner(model, tokenizer, settings, cache, progress)

    scores: dict[str, float | None] = {}
    ci: dict[str, list[float] | None] = {}
    rows: list[dict] = []
    notes: list[str] = []
    boot = dict(samples=settings.bootstrap_samples, seed=settings.seed)
    # KnowMem criterion -> shots used / requested / available (warns, before any model call, when short)
    shots = {}
    for crit, icl in (("knowmem_f", corpus.knowmem_forget_qa_icl), ("knowmem_r", corpus.knowmem_retain_qa_icl)):
        if crit in selected:
            shots[crit] = knowmem_shots(crit, icl, settings, corpus.source)
    notes += [f"KnowMem shots: {s['warning']}" for s in shots.values() if "warning" in s]
    prompt_end = None  # KnowMem: the prompt's ending and whether this tokenizer isolates its trailing space
    if shots:
        prompt_end = {"setting": settings.knowmem_prompt, "lone_space_token": trailing_space_is_lone_token(tokenizer)}
        if prompt_end["lone_space_token"] and settings.knowmem_prompt == "faithful":
            notes.append("KnowMem prompt: this tokenizer encodes the trailing space of 'Answer: ' as a lone token, "
                         "which a model rarely saw before an answer word; KnowMem may read near 0 whatever it knows. "
                         "knowmem_prompt=no_trailing_space scores without it (recorded; MUSE's own scorer keeps it)")
    length_rule = None  # PrivLeak: the length limit and how many texts it cut

    if "verbmem_f" in selected:
        reqs = verbmem_requests(corpus.verbmem_forget, settings)
        out = runner.generate("generate-verbmem_f", reqs)
        crit_rows = verbmem_rows(tokenizer, corpus.verbmem_forget, reqs, out, settings)
        rows += _add_rouge_score("verbmem_f", crit_rows, scores, ci, boot,
                                 corpus.unit_labels("verbmem_forget", corpus.verbmem_forget))
    for crit, part, icl in (("knowmem_f", "knowmem_forget_qa", corpus.knowmem_forget_qa_icl),
                            ("knowmem_r", "knowmem_retain_qa", corpus.knowmem_retain_qa_icl)):
        if crit in selected:
            qa = getattr(corpus, part)
            reqs = knowmem_requests(qa, icl, settings)
            out = runner.generate(f"generate-{crit}", reqs)
            rows += _add_rouge_score(crit, knowmem_rows(crit, tokenizer, qa, reqs, out), scores, ci, boot,
                                     corpus.unit_labels(part, qa))

    privacy: dict = {}
    if "privleak" in selected or "privacy" in selected:
        suite = "privacy" in selected
        privacy, split_rows = _privacy(runner, corpus, settings, suite, reference_model, cache_dir, device)
        rows += split_rows
        length_rule = privleak_length_limit(tokenizer, [r["input"] for r in split_rows],
                                            settings.privleak_max_length, lowercase_twins=suite)
        cut = length_rule["texts_cut"] + length_rule.get("lowercase_twins_cut", 0)
        if cut:
            notes.append(f"PrivLeak: privacy texts cut to {length_rule['max_length']} tokens "
                         f"(privleak_max_length): {length_rule['texts_cut']} of {length_rule['texts']} texts, "
                         f"{length_rule.get('lowercase_twins_cut', 0)} lower-cased twins; MUSE scores whole texts")
        headline = privacy["headline_attack"]
        forget = [r["scores"][headline] for r in split_rows if r["split"] == "forget"]
        holdout = [r["scores"][headline] for r in split_rows if r["split"] == "holdout"]
        scores["auc"] = auc(forget, holdout)
        # resample people when the corpus says whose text each one is (else texts)
        units = [corpus.unit_labels("privleak_forget"), corpus.unit_labels("privleak_holdout")]
        ci["auc"] = bootstrap_ci(auc_by_ranks, [forget, holdout], name="auc", clusters=units, **boot)
        privacy.update(retrain_auc=retrain_value, retrain_auc_source=retrain_source)
        if retrain_value is None:
            scores["privleak"] = None
            ci["privleak"] = None
            notes.append("PrivLeak unavailable: no retrain AUC known. Pass --retrain DIR (measured) or "
                         "--retrain-auc X|news|books (a constant); it is never assumed to be 0.5.")
        else:
            scores["privleak"] = privleak(scores["auc"], retrain_value)
            if isinstance(retrain_value, MeasuredAUC):  # both AUCs uncertain: resample both models' scores
                ci["privleak"] = privleak_ci(forget, holdout, retrain_value, clusters=units, **boot)
                retrain_value = float(retrain_value)
            else:  # a constant: PrivLeak is an increasing affine map of the AUC, its percentiles the AUC's
                ci["privleak"] = [privleak(v, retrain_value) for v in ci["auc"]] if ci["auc"] else None
            note = c3_resolution_note(ci["privleak"])
            if note:
                notes.append(note)

    provenance = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "engine_version": ENGINE_VERSION,
        "settings": settings.to_dict(),
        "metrics_selected": selected,
        "knowmem_shots": shots,
        "knowmem_prompt": prompt_end,
        "privleak_length": length_rule,
        "metric_versions": {k: m.version for k, m in METRICS.items()},
        "model_fingerprint": fingerprints["model"],
        "tokenizer_fingerprint": fingerprints["tokenizer"],
        "corpus": {"name": corpus.name, "source": corpus.source, "fingerprint": fingerprints["corpus"]},
        "model_name": getattr(getattr(model, "config", None), "_name_or_path", None) or type(model).__name__,
        "device": str(device),
        "dtype": _dtype_name(model),
        # CPU float reductions are split by thread: same machine + same thread count = the same bits
        "torch_threads": torch.get_num_threads(),
        "packages": package_versions(),
        "cache_key": cache.key if cache.enabled else None,
        "requests_computed": runner.computed,
        "requests_by_process": runner.computed_by_process,  # sharded evaluation: each process's share
        "timing_s": {k: round(v, 3) for k, v in runner.timing.items()},
        "cpu_s": {k: round(v, 3) for k, v in runner.cpu_time.items()},
    }
    return EvalResult(scores=scores, ci=ci, privacy=privacy, notes=notes, provenance=provenance, per_example=rows)


def measure_retrain_auc(model, tokenizer, corpus, settings: EvalSettings | None = None, cache_dir=None,
                        progress: bool = True, force: bool = False) -> MeasuredAUC:
    """The retrain model's headline AUC (Min-K%, forget vs holdout): PrivLeak's denominator, with the
    per-text scores it came from (PrivLeak's CI resamples them with the evaluated model's)."""
    result = evaluate(model, tokenizer, corpus, settings, metrics=["privleak"], cache_dir=cache_dir,
                      progress=progress, force=force)
    return retrain_reference(result)


def retrain_reference(result: EvalResult) -> MeasuredAUC | None:
    """The retrain model's AUC with its per-text headline scores, from its evaluation (None without one)."""
    headline = (result.privacy or {}).get("headline_attack")
    if headline is None or result.scores.get("auc") is None:
        return None
    forget = [r["scores"][headline] for r in result.per_example
              if r.get("criterion") == "privleak" and r["split"] == "forget"]
    holdout = [r["scores"][headline] for r in result.per_example
               if r.get("criterion") == "privleak" and r["split"] == "holdout"]
    return MeasuredAUC(forget, holdout, float(result.scores["auc"]))


def _add_rouge_score(crit, crit_rows, scores, ci, boot, units=None) -> list[dict]:
    """The criterion's mean and CI; ``units`` (a person per row, when the corpus records it): whole people
    are resampled, since questions and passages about one person are not independent."""
    values = [r["scores"]["rougeL_f1"] for r in crit_rows]
    scores[crit] = reported_mean_x100(values)
    ci[crit] = bootstrap_ci(mean_x100, [values], name=crit, batched=rows_mean_x100, clusters=[units], **boot)
    return crit_rows


def _privacy(runner, corpus, settings, suite, reference_model, cache_dir, device):
    """Per-split attack scores (rows) and the attack table.

    PrivLeak alone asks for one log-probs-only forward per text and its headline Min-K%; the suite adds
    every K, Min-K%++'s moments, zlib and the lower-cased twin (module ``privacy``).
    """
    headline_k = float(settings.mink_k)
    ks = tuple(sorted(set(MINK_PERCENTS) | {headline_k})) if suite else (headline_k,)
    splits = {"forget": corpus.privleak_forget, "holdout": corpus.privleak_holdout}
    if suite and corpus.privleak_retain:
        splits = {"forget": corpus.privleak_forget, "retain": corpus.privleak_retain,
                  "holdout": corpus.privleak_holdout}
    max_len = settings.privleak_max_length
    texts = [t for split in splits.values() for t in split]
    own = [LogprobRequest(t, max_len, moments=suite) for t in texts]
    requests = list(own)
    if suite:
        requests += [LogprobRequest(t.lower(), max_len, moments=False) for t in texts]  # NLL only
    stats = runner.token_logprobs("logprobs-privleak", requests)
    ref_stats = None
    if reference_model is not None:
        ref_cache = ResultCache(cache_dir, {"model": model_fingerprint(reference_model),
                                            "tokenizer": tokenizer_fingerprint(runner.tokenizer),
                                            "corpus": corpus.fingerprint(), "settings": settings.scoring_key(),
                                            "device": device.type})
        ref_runner = Runner(reference_model, runner.tokenizer, settings, ref_cache, runner.progress)
        ref_stats = ref_runner.token_logprobs("logprobs-privleak",
                                              [LogprobRequest(t, max_len, moments=False) for t in texts])

    rows, by_split = [], {}
    for split, split_texts in splits.items():
        by_split[split] = []
        for i, text in enumerate(split_texts):
            key = LogprobRequest(text, max_len, moments=suite).key()
            lower = stats[LogprobRequest(text.lower(), max_len, moments=False).key()] if suite else None
            ref = ref_stats[LogprobRequest(text, max_len, moments=False).key()] if ref_stats is not None else None
            s = attack_scores(text, stats[key], lower, ref, ks, suite=suite)
            by_split[split].append(s)
            rows.append({"criterion": "privleak", "split": split, "index": i, "input": text,
                         "n_tokens": stats[key].n_tokens, "scores": s})
    headline = f"mink_{k_label(headline_k)}"
    table = privacy_table(by_split)
    return {"headline_attack": headline, "splits": {s: len(v) for s, v in splits.items()},
            "suite": suite, "attacks": table}, rows


def _dtype_name(model) -> str | None:
    try:
        return str(next(model.parameters()).dtype).replace("torch.", "")
    except (StopIteration, AttributeError, TypeError):
        return None



__all__ = ["evaluate", "measure_retrain_auc", "resolve_metrics"]
