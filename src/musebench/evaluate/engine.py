"""``evaluate``: the six-way MUSE evaluation of one model on one corpus.

The engine loops over the selected tasks of ``registry.TASKS`` (``task.Task``): each turns the corpus into
generate / token-log-prob requests, which the runner deduplicates, batches and caches, then its outputs into
per-example rows and the rows into scores with seeded bootstrap CIs. Everything is validated before the first
forward pass.
"""

from __future__ import annotations

import datetime as _dt

import torch

from musebench.errors import ConfigError, DataError
from musebench.evaluate.cache import ENGINE_VERSION, ResultCache
from musebench.evaluate.fingerprint import model_fingerprint, tokenizer_fingerprint
from musebench.evaluate.model_io import model_device
from musebench.evaluate.privacy import MeasuredAUC
from musebench.evaluate.registry import TASKS, load_plugin_tasks, task_named
from musebench.evaluate.result import EvalResult
from musebench.evaluate.runner import Runner
from musebench.evaluate.settings import EvalSettings, resolve_retrain_auc
from musebench.evaluate.sharding import current_shard
from musebench.evaluate.task import EvalContext
from musebench.versions import package_versions


def resolve_metrics(corpus, metrics) -> list[str]:
    """The criteria to compute, in registry order; unknown names and missing corpus parts fail together.

    Default: every default task (MUSE's criteria) the corpus has data for; 'all' adds the opt-in ones (the
    membership suite ``privacy``: a second forward per text and every next-token distribution's moments).
    """
    load_plugin_tasks()
    if isinstance(metrics, str):
        metrics = [m for m in metrics.split(",") if m.strip()]
    if metrics is None or list(metrics) in (["all"], []):
        everything = metrics is not None and list(metrics) == ["all"]
        return [
            name for name, t in TASKS.items() if all(getattr(corpus, p) for p in t.needs) and (everything or t.default)
        ]
    found = {m: task_named(m) for m in metrics}
    unknown = [m.strip().lower() for m, t in found.items() if t is None]
    if unknown:
        raise ConfigError(
            f"unknown metric; choose from {', '.join(TASKS)} or 'all'",
            field="metrics",
            value=unknown if len(unknown) > 1 else unknown[0],
        )
    chosen = {t.name for t in found.values()}
    lacking = [f"{m} needs {p}" for m in TASKS if m in chosen for p in TASKS[m].needs if not getattr(corpus, p)]
    if lacking:
        raise DataError(
            "corpus lacks data for the selected metrics: " + "; ".join(lacking),
            file=getattr(corpus, "source", None) or corpus.name,
            field="metrics",
        )
    return [m for m in TASKS if m in chosen]


def check_texts(corpus, selected: list[str]) -> None:
    """Empty prompts or texts cannot be scored: report every one of them before any model call."""
    problems = [where for m in selected for where in TASKS[m].empty_texts(corpus)]
    if problems:
        raise DataError(
            f"{len(problems)} empty text(s): {', '.join(sorted(set(problems))[:10])}",
            file=getattr(corpus, "source", None) or corpus.name,
        )


def prefetch_scorer_modules(selected: list[str]):
    """Import what the tasks score with (ROUGE pulls in nltk, sklearn scipy) in a background thread while
    the model runs: ~1.5 CPU seconds of start-up, needed only after the forward passes. Importing is
    thread-safe (the import lock); torch releases the GIL during its kernels, so this overlaps. The caller
    joins the returned thread before it returns: no import is left running (e.g. across a fork).
    """
    import threading

    def load():
        for name in selected:
            try:
                TASKS[name].prefetch()
            except Exception:  # noqa: BLE001 - the main thread meets the same error where it can report it
                pass

    thread = threading.Thread(target=load, name="musebench-prefetch", daemon=True)
    thread.start()
    return thread


def evaluate(
    model,
    tokenizer,
    corpus,
    settings: EvalSettings | None = None,
    metrics=None,
    retrain_auc: float | str | None = None,
    cache_dir=None,
    progress: bool = True,
    *,
    reference_model=None,
    force: bool = False,
) -> EvalResult:
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
        return _evaluate(
            model,
            tokenizer,
            corpus,
            settings,
            selected,
            retrain_value,
            retrain_source,
            cache_dir,
            progress,
            reference_model,
            force,
        )
    finally:
        prefetch.join()


def _evaluate(
    model,
    tokenizer,
    corpus,
    settings,
    selected,
    retrain_value,
    retrain_source,
    cache_dir,
    progress,
    reference_model,
    force,
) -> EvalResult:
    device = model_device(model)
    fingerprints = {
        "model": model_fingerprint(model),
        "tokenizer": tokenizer_fingerprint(tokenizer),
        "corpus": corpus.fingerprint(),
    }
    cache = ResultCache(cache_dir, {**fingerprints, "settings": settings.scoring_key(), "device": device.type})
    if force and current_shard().is_main:  # the others start storing only after the main one's first broadcast
        cache.clear()
    runner = Runner(model, tokenizer, settings, cache, progress)
    ctx = EvalContext(
        model,
        tokenizer,
        corpus,
        settings,
        runner,
        selected,
        boot={"samples": settings.bootstrap_samples, "seed": settings.seed},
        retrain_auc=retrain_value,
        retrain_source=retrain_source,
        reference_model=reference_model,
        cache_dir=cache_dir,
        device=device,
    )
    covered = {c for m in selected for c in TASKS[m].covers}
    tasks = [TASKS[m] for m in selected if m not in covered]
    for task in tasks:  # warnings and provenance before any model call
        task.prepare(ctx)
    rows: list[dict] = []
    for task in tasks:
        requests = task.requests(ctx)
        task_rows = task.rows(ctx, requests, task.outputs(ctx, requests))
        task.score(ctx, task_rows)
        rows += task_rows

    provenance = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "engine_version": ENGINE_VERSION,
        "settings": settings.to_dict(),
        "metrics_selected": selected,
        **{k: v for t in TASKS.values() for k, v in t.provenance.items()},  # what a task that did not run reads
        **ctx.provenance,
        "metric_versions": {score.key: t.version for t in TASKS.values() for score in t.scores},
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
    return EvalResult(
        scores=ctx.scores, ci=ctx.ci, privacy=ctx.privacy, notes=ctx.notes, provenance=provenance, per_example=rows
    )


def measure_retrain_auc(
    model,
    tokenizer,
    corpus,
    settings: EvalSettings | None = None,
    cache_dir=None,
    progress: bool = True,
    force: bool = False,
) -> MeasuredAUC:
    """The retrain model's headline AUC (Min-K%, forget vs holdout): PrivLeak's denominator, with the
    per-text scores it came from (PrivLeak's CI resamples them with the evaluated model's)."""
    result = evaluate(
        model, tokenizer, corpus, settings, metrics=["privleak"], cache_dir=cache_dir, progress=progress, force=force
    )
    return retrain_reference(result)


def retrain_reference(result: EvalResult) -> MeasuredAUC | None:
    """The retrain model's AUC with its per-text headline scores, from its evaluation (None without one)."""
    headline = (result.privacy or {}).get("headline_attack")
    if headline is None or result.scores.get("auc") is None:
        return None
    forget = [
        r["scores"][headline] for r in result.per_example if r.get("criterion") == "privleak" and r["split"] == "forget"
    ]
    holdout = [
        r["scores"][headline]
        for r in result.per_example
        if r.get("criterion") == "privleak" and r["split"] == "holdout"
    ]
    return MeasuredAUC(forget, holdout, float(result.scores["auc"]))


def _dtype_name(model) -> str | None:
    try:
        return str(next(model.parameters()).dtype).replace("torch.", "")
    except (StopIteration, AttributeError, TypeError):
        return None


__all__ = ["evaluate", "measure_retrain_auc", "resolve_metrics"]
