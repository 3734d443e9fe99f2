"""C7 robustness in an experiment: every attack on every selected checkpoint, with target and retrain controls.

Stages (cached and resumable like the rest, under ``stages/robustness__...``):

- ``robustness/<model>/quantize-<scheme>``: C1-C4 of the model loaded with that bitsandbytes scheme, for the
  target and retrain models (what quantization alone does) and every method's selected checkpoint;
- ``robustness/<model>/relearn-<on>``: the rest of the forget set scored before and after a brief fine-tune on
  the slice (or on as many retain documents), for the target, the retrain model (the control: what the
  slice teaches anyone) and every method;
- ``robustness/<model>/paraphrase``: KnowMem on the rephrased forget questions.

The recovery ratios (``musebench.robustness.recovery``) are computed from the stage results and written to
``results.json["robustness"]``.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from typing import Any

from musebench.experiment.context import ModelRef, RunContext
from musebench.io import stable_hash

logger = logging.getLogger(__name__)

#: Bump when what a robustness stage computes changes.
ROBUSTNESS_VERSION = 2
WHP_NO_RELEARN = ("not run: a WHP / ULD checkpoint combines two models' logits and has no weights of its own "
                  "to fine-tune")


#: The extra that brings bitsandbytes, and the note a quantization attack gets in results and report without it.
QUANT_EXTRA = "pip install 'musebench[quant]'"
QUANT_NOT_RUN = f"not run: {QUANT_EXTRA}"


def quantization_library_missing() -> bool:
    """Whether bitsandbytes (the optional ``quant`` extra) is absent: the built-in experiments then skip their
    quantization attacks instead of failing, so they run with what the core install brings."""
    try:
        return importlib.util.find_spec("bitsandbytes") is None
    except (ImportError, ValueError):  # a broken or blocked install counts as missing
        return True


def _split(ctx: RunContext, on: str):
    from musebench.robustness import load_tags, split_forget

    spec = ctx.cfg.robustness
    return split_forget(ctx.corpus, load_tags(ctx.data_dir, ctx.corpus), spec.fraction, on, ctx.cfg.seed)


def _paraphrase_key(ctx: RunContext) -> str:
    return stable_hash([q.__dict__ for q in ctx.corpus.knowmem_forget_qa_paraphrase])


def _models(ctx: RunContext) -> list[tuple[str, ModelRef, bool]]:
    """(name, model, is a method) for the controls first, then every method chosen for C7."""
    out = [("target", ctx.target, False), ("retrain", ctx.retrain, False)]
    out += [(spec.name, ctx.selected[spec.name], True) for spec in ctx.cfg.robustness_methods()
            if spec.name in ctx.selected]
    return out


def _stage_runs(ctx: RunContext, name: str, ref: ModelRef, splits: dict, wall: list[float]) -> dict[str, Any]:
    """Every attack on one model, one stage each; returns attack -> stage result (``wall`` gets the times)."""
    spec = ctx.cfg.robustness
    backend, base = ctx.backend, {"model": ref.key, "corpus": ctx.corpus_key, "settings": ctx.eval_settings,
                                  "version": ROBUSTNESS_VERSION}
    out: dict[str, Any] = {}

    def run(stage: str, key: dict, fn) -> Any:
        done = ctx.store.run(stage, key, fn)
        wall.append(done.wall_s)
        return done.result

    for scheme in spec.quantize:
        if quantization_library_missing():
            out[f"quantize-{scheme}"] = {"skipped": QUANT_NOT_RUN}  # not a stage: installing the extra runs it
            continue
        out[f"quantize-{scheme}"] = run(
            f"robustness/{name}/quantize-{scheme}",
            {**base, "scheme": scheme, "metrics": ctx.cfg.eval.metrics, "retrain_auc": ctx.retrain_auc},
            lambda scheme=scheme: backend.evaluate_quantized(ref.path, scheme, ctx.corpus, ctx.eval_settings,
                                                             ctx.cfg.eval.metrics, ctx.retrain_auc))
    from musebench.unlearn import METHODS

    budget = spec.relearn_budget(ctx.cfg.seed)
    for on, split in splits.items():
        if ref.checkpoint and METHODS[ctx.cfg.method(name).method].combines_logits:
            out[f"relearn-{on}"] = {"skipped": WHP_NO_RELEARN}
            continue
        out[f"relearn-{on}"] = run(
            f"robustness/{name}/relearn-{on}",
            {**base, "split": split.describe(), "fraction": spec.fraction, "budget": budget,
             "seed": ctx.cfg.seed},
            lambda split=split: backend.evaluate_relearned(ref.path, split, budget, ctx.eval_settings,
                                                           ref.checkpoint))
    if spec.paraphrase and ctx.corpus.knowmem_forget_qa_paraphrase:
        from musebench.robustness.attacks import paraphrase_corpus

        out["paraphrase"] = run(
            f"robustness/{name}/paraphrase", {**base, "paraphrase": _paraphrase_key(ctx)},
            lambda: backend.evaluate(ref.path, paraphrase_corpus(ctx.corpus), ctx.eval_settings, ["knowmem_f"],
                                     None, ref.checkpoint))
    return out


def check_robustness(ctx: RunContext) -> None:
    """Fail before any training when the block cannot run: schemes bitsandbytes cannot run on the device,
    a fraction that leaves no held-out part, an unknown split. Cheap: nothing is loaded."""
    spec = ctx.cfg.robustness
    if not spec.enabled:
        return
    from musebench.errors import ConfigError, MusebenchError

    schemes = spec.quantize
    if schemes and quantization_library_missing():
        warnings.warn(f"bitsandbytes is not installed: C7's quantization attacks ({', '.join(schemes)}) are "
                      f"skipped ({QUANT_EXTRA} runs them)", stacklevel=2)
        schemes = []
    try:
        ctx.backend.check_attacks(schemes)
        for on in spec.relearn_on:
            _split(ctx, on)
    except MusebenchError as err:
        field = {"--scheme": "robustness.quantize", "--fraction": "robustness.relearn.fraction"}.get(
            err.field or "", err.field or "robustness")
        raise ConfigError(err.message, file=ctx.cfg.source_file, field=field, value=err.value) from err


def run_robustness(ctx: RunContext) -> dict[str, Any] | None:
    """Run C7 for the experiment's ``robustness:`` block; ``results.json`` is updated after each model."""
    from musebench.robustness.summary import summarise

    spec = ctx.cfg.robustness
    if not spec.enabled:
        return None
    splits = {on: _split(ctx, on) for on in spec.relearn_on}
    notes = []
    if spec.paraphrase and not ctx.corpus.knowmem_forget_qa_paraphrase:
        notes.append("no knowmem/forget_qa_paraphrase.json in the corpus: the rephrased probe was not run")
    notes += [f"relearn-{on}: {s.note}" for on, s in splits.items()]
    runs: dict[str, dict[str, Any]] = {}
    selected = {}
    wall: list[float] = []
    for name, ref, is_method in _models(ctx):
        runs[name] = _stage_runs(ctx, name, ref, splits, wall)
        if is_method:
            method = ctx.results.record.methods[name]
            selected[name] = {"checkpoint": method.selected, "scores": dict(method.selected_checkpoint.scores)}
        doc = summarise(runs, selected, ctx.target_scores, ctx.retrain_scores, baseline_items=ctx.items,
                        seed=ctx.cfg.seed)
        relearn = {"on": spec.relearn_on, "fraction": spec.fraction, **spec.relearn_budget(ctx.cfg.seed)}
        doc["settings"] = {"quantize": spec.quantize, "relearn": relearn,
                           "paraphrase": spec.paraphrase,
                           "split": {on: s.describe() for on, s in splits.items()}}
        doc["notes"] = notes
        doc["timing_s"] = {"attacks": round(sum(wall), 2), "stages": len(wall)}  # first cost of cached stages
        ctx.results.set_robustness(doc)
    robustness = ctx.results.record.robustness
    return robustness.to_dict() if robustness is not None else None
