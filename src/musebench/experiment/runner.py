"""A whole MUSE experiment: corpus, target/retrain, every method with checkpoint selection, C5, C6, report.

Order: materialise the corpus, check the requested C5/C6 folds exist (before any training), build or take
the target and retrain models, evaluate retrain (its AUC is PrivLeak's reference) then target, run each
method, then C5 and C6 for the methods that ask for them, then the report. Every step is a cached stage
(``stages.py``), and ``results.json`` is rewritten after each one.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from musebench.errors import ConfigError
from musebench.experiment.adapters import Backend
from musebench.experiment.checkpoints import needs_finetuned, unlearn_and_select
from musebench.experiment.config import BUILD, ExperimentConfig, MethodSpec
from musebench.experiment.context import ModelRef, RunContext
from musebench.experiment.executors import SerialExecutor
from musebench.experiment.lock import run_lock
from musebench.experiment.progress import NullReporter, stage_weight
from musebench.experiment.results import ResultsDoc
from musebench.experiment.robustness import check_robustness, run_robustness
from musebench.experiment.scalability import run_scalability
from musebench.experiment.stages import StageStore
from musebench.experiment.sustainability import run_sustainability
from musebench.io import atomic_write_text, stable_hash
from musebench.results import FollowUp, MethodResult, Results

#: Bump when the way stages compute their results changes, so old markers are not trusted.
PIPELINE_VERSION = 1


def cache_root(cfg: ExperimentConfig) -> Path:
    """Where built target/retrain models are kept across runs: the experiment's ``cache_dir``, else
    ``$MUSEBENCH_CACHE``, else ``~/.cache/musebench``. They depend only on the corpus and the recipe, so
    every run directory (``demo --quick``, ``demo``, a user's own experiment) reuses them."""
    if cfg.cache_dir:
        return Path(cfg.cache_dir).expanduser()
    return Path(os.environ.get("MUSEBENCH_CACHE", Path.home() / ".cache" / "musebench")).expanduser()


def run_experiment(
    cfg: ExperimentConfig,
    run_dir: str | Path,
    backend: Backend,
    force: bool = False,
    reporter=None,
    report: bool = True,
    executor=None,
) -> dict[str, Any]:
    """Run (or resume) ``cfg`` in ``run_dir``; returns the final ``results.json`` content (read it back as
    typed records with ``musebench.results.parse_results``).

    ``executor``: ``SerialExecutor`` (default) or ``RayExecutor`` (``experiment/executors``)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    executor = executor or SerialExecutor()
    # under a multi-process launch only the main process holds the lock and writes (executors/ranks.py)
    with run_lock(run_dir) if executor.is_main else contextlib.nullcontext():
        return _run_locked(
            cfg, run_dir, executor.wrap_backend(backend, run_dir), force, reporter or NullReporter(), report, executor
        )


def _run_locked(
    cfg: ExperimentConfig, run_dir: Path, backend: Backend, force: bool, reporter, report: bool, executor
) -> dict[str, Any]:
    if executor.is_main:
        _write_config(cfg, run_dir)
    start = time.perf_counter()
    store = StageStore(
        run_dir,
        force=force,
        on_start=reporter.start,
        on_finish=reporter.finish,
        retries=executor.retries,
        shard=executor.shard,
    )
    results = ResultsDoc(run_dir, cfg.name)
    if not executor.is_main:
        results.save = lambda: results.path  # the same content on every process, written by the main one
    ctx = RunContext(
        cfg=cfg,
        run_dir=run_dir,
        backend=backend,
        store=store,
        results=SharedResults(results, cfg) if executor.parallel else results,
    )
    try:
        reporter.plan(_planned_work(cfg))
        corpus_wall = _prepare_corpus(ctx)
        scal_folds, sust_folds = _check_folds(ctx)
        check_robustness(ctx)  # C7's schemes and relearning split, before any training
        build_wall = _prepare_models(ctx, executor)
        _evaluate_references(ctx)
        failures = executor.run_lines(_lines(ctx, scal_folds, sust_folds, executor.parallel))
        if executor.parallel:
            ctx.results.order_methods([s.name for s in cfg.methods])
        ctx.results.set_outcome(executor.name, [f.to_dict() for f in failures])
        run_robustness(ctx)  # C7 (the robustness: block), once every selected checkpoint is known
        # total: this invocation's wall time; work: every stage's own time, including stages a resumed run
        # found finished (so a resumed run still says what the whole experiment cost)
        ctx.results.set_timing(
            total=time.perf_counter() - start, work=store.work_s, generate=corpus_wall, build=build_wall
        )
        reporter.complete()
    finally:
        reporter.close()
    if report:
        report_dir = backend.build_report(run_dir)
        if report_dir is not None:
            ctx.results.set_report(ctx.relative(report_dir))
    return ctx.results.data


def _lines(ctx: RunContext, scal_folds: list[int], sust_folds: list[int], per_fold: bool):
    """The independent lines of work after the references: each main method, each C5 fold (or, serially,
    each method's folds in turn), each method's C6 requests in order."""
    cfg = ctx.cfg
    if per_fold:
        return _parallel_lines(ctx, scal_folds, sust_folds)
    lines = [(f"methods/{spec.name}", partial(_run_method, ctx, spec)) for spec in cfg.methods]
    for spec in cfg.follow_up_methods(cfg.scalability):
        if per_fold:
            lines += [(f"scal/{spec.name}/fold-{k}", partial(run_scalability, ctx, spec, [k])) for k in scal_folds]
        else:
            lines.append((f"scal/{spec.name}", partial(run_scalability, ctx, spec, scal_folds)))
    lines += [
        (f"sust/{spec.name}", partial(run_sustainability, ctx, spec, sust_folds))
        for spec in cfg.follow_up_methods(cfg.sustainability)
    ]
    return lines


def _parallel_lines(ctx: RunContext, scal_folds: list[int], sust_folds: list[int]):
    """Lines that may run side by side. Two orderings must hold inside a line: under ``selection.follow_ups:
    main`` a method's C5 / C6 requests need the epoch its main request chose, so they follow it in its line;
    Task Vector and WHP share θ_ft (``RUN/finetuned/<key>``), so all their requests form one line. Otherwise
    each C5 fold is a line of its own and each method's C6 requests one line."""
    cfg = ctx.cfg
    after_main = cfg.selection.follow_ups == "main"
    scal = {s.name for s in cfg.follow_up_methods(cfg.scalability)}
    sust = {s.name for s in cfg.follow_up_methods(cfg.sustainability)}
    grouped: dict[str, list] = {}  # line name -> its steps in order
    lines = []
    for spec in cfg.methods:
        shares = needs_finetuned(spec)
        name = "methods/task_vector+whp" if shares else f"methods/{spec.name}"
        steps = grouped.setdefault(name, [])
        steps.append(partial(_run_method, ctx, spec))
        if spec.name in scal:
            if after_main or shares:
                steps.append(partial(run_scalability, ctx, spec, scal_folds))
            else:
                lines += [(f"scal/{spec.name}/fold-{k}", partial(run_scalability, ctx, spec, [k])) for k in scal_folds]
        if spec.name in sust:
            if after_main or shares:
                steps.append(partial(run_sustainability, ctx, spec, sust_folds))
            else:
                lines.append((f"sust/{spec.name}", partial(run_sustainability, ctx, spec, sust_folds)))
    return [(name, partial(_in_order, steps)) for name, steps in grouped.items()] + lines


def _in_order(steps) -> None:
    for step in steps:
        step()


class SharedResults:
    """``ResultsDoc`` for lines running at once: every update under one lock; C5 rows, which arrive one fold
    per line, merged by fold. The runner puts the methods back in the file's order at the end."""

    def __init__(self, doc: ResultsDoc, cfg: ExperimentConfig):
        self.doc, self.cfg = doc, cfg
        self._lock = threading.RLock()
        self._rows: dict[tuple[str, str], dict[int, FollowUp]] = {}

    @property
    def data(self) -> dict[str, Any]:
        with self._lock:
            return self.doc.data

    @property
    def record(self) -> Results:
        with self._lock:
            return self.doc.record

    def __getattr__(self, name: str):
        attr = getattr(self.doc, name)
        if not callable(attr):
            return attr

        def locked(*args, **kwargs):
            with self._lock:
                return attr(*args, **kwargs)

        return locked

    def set_follow_up(self, name: str, key: str, rows: list[FollowUp]) -> None:
        with self._lock:
            merged = self._rows.setdefault((name, key), {})
            merged.update({row.number: row for row in rows})
            self.doc.set_follow_up(name, key, [merged[k] for k in sorted(merged)])


def _write_config(cfg: ExperimentConfig, run_dir: Path) -> None:
    import yaml

    text = f"# resolved experiment; re-run with: musebench run {run_dir / 'experiment.yaml'} --out {run_dir}\n"
    atomic_write_text(run_dir / "experiment.yaml", text + yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def _planned_work(cfg: ExperimentConfig) -> int:
    """Weighted stage count for the progress bar (``stage_weight``); the number of checkpoints is a guess
    from ``epochs`` / ``alphas`` until unlearning has run, and selection mode may evaluate fewer."""

    def request(spec: MethodSpec, mode: str) -> int:
        fields = spec.params
        n = (
            len(fields["alphas"])
            if "alphas" in fields
            else int(fields.get("num_train_epochs", fields.get("epochs", 1)))
        )
        return (
            stage_weight("x/unlearn")
            + n * stage_weight("x/eval/c")
            + (stage_weight("x/all") if mode == "selection" else 0)
        )

    total = stage_weight("corpus") + 2 * stage_weight("eval/target")
    total += sum(stage_weight(f"build/{r}") for r in ("target", "retrain") if cfg.models.source(r) == BUILD)
    total += sum(request(m, cfg.eval.checkpoints) for m in cfg.methods)
    n_scal = len(cfg.scalability.folds or [1, 2, 3, 4])
    n_sust = len(cfg.sustainability.folds or [1, 2, 3, 4])
    total += sum(n_scal * request(m, cfg.scalability.eval_checkpoints) for m in cfg.follow_up_methods(cfg.scalability))
    total += sum(
        n_sust * request(m, cfg.sustainability.eval_checkpoints) for m in cfg.follow_up_methods(cfg.sustainability)
    )
    if cfg.robustness.enabled:
        attacks = len(cfg.robustness.quantize) + len(cfg.robustness.relearn_on) + cfg.robustness.paraphrase
        total += (2 + len(cfg.robustness_methods())) * attacks * stage_weight("robustness/x")
    return total


def _prepare_corpus(ctx: RunContext) -> float:
    cfg = ctx.cfg
    data_dir = ctx.run_dir / "data"
    done = ctx.store.run(
        "corpus",
        {"spec": asdict(cfg.corpus), "pipeline": PIPELINE_VERSION},
        lambda: ctx.relative(ctx.backend.prepare_corpus(cfg.corpus, data_dir)),
        still_valid=lambda p: Path(ctx.absolute(p)).is_dir(),
    )
    ctx.data_dir = Path(ctx.absolute(done.result))
    ctx.corpus = ctx.backend.load_corpus(ctx.data_dir)
    ctx.corpus_key = ctx.corpus.fingerprint()
    ctx.results.set_corpus(ctx.corpus.name, ctx.corpus_key, ctx.corpus.source or str(ctx.data_dir))
    ctx.eval_settings = cfg.eval.settings.to_dict()  # resolved when the file was read
    ctx.results.set_provenance(ctx.backend.versions(), cfg.seed, ctx.eval_settings, cfg.to_dict())
    return done.wall_s


def _check_folds(ctx: RunContext) -> tuple[list[int], list[int]]:
    """The C5 / C6 folds to run; a missing fold is a config error raised before any training."""
    chosen = []
    for key, spec in (("scalability", ctx.cfg.scalability), ("sustainability", ctx.cfg.sustainability)):
        available = sorted(getattr(ctx.corpus, key[:4]))
        if not ctx.cfg.follow_up_methods(spec):
            chosen.append([])
            continue
        if not available:
            raise ConfigError(
                f"corpus '{ctx.corpus.name}' has no {key[:4]}/ folds", file=ctx.cfg.source_file, field=key
            )
        missing = [k for k in spec.folds or [] if k not in available]
        if missing:
            raise ConfigError(
                f"corpus '{ctx.corpus.name}' has {key[:4]} folds {available}, not {missing}",
                file=ctx.cfg.source_file,
                field=f"{key}.folds",
            )
        chosen.append(spec.folds or available)
        if ctx.cfg.selection.follow_ups == "own_fold":  # each request is judged by its fold's questions
            lacking = [k for k in chosen[-1] if not ctx.corpus.fold_questions(f"{key[:4]}/forget_{k}")]
            if lacking:
                raise ConfigError(
                    f"selection.follow_ups: own_fold needs KnowMem questions per fold; corpus "
                    f"'{ctx.corpus.name}' has none for {key[:4]} folds {lacking} "
                    f"(knowmem/{key[:4]}/forget_K_qa.json)",
                    file=ctx.cfg.source_file,
                    field="selection.follow_ups",
                )
    return chosen[0], chosen[1]


def _prepare_models(ctx: RunContext, executor=None) -> float:
    """Target and retrain (built side by side by a parallel executor); returns the build stages' wall time."""
    # the key holds the fields the file changed (the recipe itself follows from the corpus and base)
    recipe, seed, base = ctx.cfg.recipe_overrides(), ctx.cfg.seed, ctx.cfg.models.base
    # one directory per (corpus, recipe, seed, base): build_model names its output by role only
    models_key = {"corpus": ctx.corpus_key, "recipe": recipe, "seed": seed, **({"base": base} if base else {})}
    models_dir = cache_root(ctx.cfg) / "models" / f"{ctx.corpus.name}-{stable_hash(models_key, 10)}"
    with_base = {"base": base} if base else {}  # a backend without real bases is never asked for one

    def prepare(role: str) -> float:
        source = ctx.cfg.models.source(role)
        if source == BUILD:
            done = ctx.store.run(
                f"build/{role}",
                {"corpus": ctx.corpus_key, "recipe": recipe, "role": role, "seed": seed, **with_base},
                lambda: str(
                    ctx.backend.build_model(ctx.data_dir, role, models_dir, ctx.cfg.models.recipe, seed, **with_base)
                ),
                still_valid=lambda p: Path(p).is_dir(),
            )
            setattr(ctx, role, ModelRef(done.result, done.key))
            return done.wall_s
        setattr(ctx, role, ModelRef(source, stable_hash({"given": source, "files": _dir_signature(source)})))
        return 0.0

    roles = ("retrain", "target")
    return sum((executor or SerialExecutor()).map([partial(prepare, role) for role in roles]))


def _dir_signature(source: str) -> list:
    """Name, size and mtime of a local model's files: a changed model invalidates its evaluations."""
    path = Path(source)
    if not path.is_dir():
        return []
    return sorted((f.name, f.stat().st_size, int(f.stat().st_mtime)) for f in path.iterdir() if f.is_file())


def _measured_auc(evaluation: dict) -> float:
    """The retrain AUC; with the per-text scores it came from (``MeasuredAUC``) when the evaluation kept them,
    so every PrivLeak CI resamples the retrain model's scores too."""
    from musebench.evaluate.privacy import MeasuredAUC

    texts = evaluation.get("privleak_scores")
    if not texts:
        return evaluation["scores"]["auc"]
    return MeasuredAUC(texts["forget"], texts["holdout"], evaluation["scores"]["auc"])


def _evaluate_references(ctx: RunContext) -> None:
    fixed_auc = ctx.cfg.eval.retrain_auc
    for role in ("retrain", "target"):
        ref: ModelRef = getattr(ctx, role)
        auc = fixed_auc if role == "retrain" else ctx.retrain_auc
        done = ctx.store.run(
            f"eval/{role}",
            {
                "model": ref.key,
                "corpus": ctx.corpus_key,
                "settings": ctx.eval_settings,
                "retrain_auc": auc,
                "metrics": ctx.cfg.eval.metrics,
            },
            lambda ref=ref, auc=auc, role=role: ctx.backend.evaluate(
                ref.path, ctx.corpus, ctx.eval_settings, ctx.cfg.eval.metrics, auc, False, ctx.run_dir / "eval" / role
            ),
        )
        evaluation = done.result
        ctx.items[role] = evaluation.get("items") or {}
        if role == "retrain":
            if fixed_auc is None:
                if "auc" not in evaluation["scores"]:
                    raise ConfigError(
                        "the retrain model's PrivLeak AUC could not be computed (the corpus "
                        "lacks privleak forget/holdout); set eval.retrain_auc",
                        file=ctx.cfg.source_file,
                        field="eval.retrain_auc",
                    )
                # PrivLeak compares with the retrain AUC, so the retrain model's own PrivLeak is 0 by definition.
                evaluation = {**evaluation, "scores": {**evaluation["scores"], "privleak": 0.0}}
                evaluation["ci"] = {k: v for k, v in evaluation.get("ci", {}).items() if k != "privleak"}
            ctx.retrain_auc = fixed_auc if fixed_auc is not None else _measured_auc(evaluation)
            ctx.results.set_retrain_auc(
                ctx.retrain_auc,
                "fixed (eval.retrain_auc)" if fixed_auc is not None else "measured on the retrain model",
            )
            ctx.retrain_scores = evaluation["scores"]
        else:
            ctx.target_scores = evaluation["scores"]
        ctx.results.set_reference(role, evaluation, ref.path)
    if "knowmem_f" not in ctx.retrain_scores:
        raise ConfigError(
            "checkpoint selection needs KnowMem on the forget QA, which the corpus lacks",
            file=ctx.cfg.source_file,
            field="corpus",
        )


def _run_method(ctx: RunContext, spec: MethodSpec) -> None:
    out = unlearn_and_select(
        ctx,
        f"methods/{spec.name}",
        spec,
        ctx.target,
        "forget",
        reference=ctx.target,
        eval_mode=ctx.cfg.eval.checkpoints,
    )
    ctx.selected[spec.name] = out.selected_model
    ctx.items[spec.name] = out.items
    ctx.results.set_method(
        MethodResult(
            name=spec.name,
            method=spec.method,
            config=ctx.cfg.unlearn_fields(spec),
            checkpoints=out.checkpoint_records(),
            checkpoints_trained=out.trained,
            selected=out.selection.label,
            selection_reason=out.selection.reason,
            timing_s=out.timing_s,
        )
    )
