"""C7 robustness in an experiment: every attack on every selected checkpoint, with target and retrain controls.

Stages (cached and resumable like the rest, under ``stages/robustness__...``):

- ``robustness/<model>/quantize-<scheme>``: C1-C4 of the model loaded with that bitsandbytes scheme, for the
  target and retrain models (what quantization alone does) and every method's selected checkpoint;
- ``robustness/<model>/relearn-<on>``: the rest of the forget set scored before and after a brief fine-tune on
  the slice (or on as many retain documents), for the target, the retrain model (the control: what the
  slice teaches anyone) and every method;
- ``robustness/<model>/paraphrase``: KnowMem on the rephrased forget questions;
- ``robustness/<model>/<name>-<option>``: any other attack of ``robustness.registry.ATTACKS``, at its default.

Each runs through the registry's ``Attack.evaluate`` (``backend.evaluate_attacked``).

The recovery ratios (``musebench.robustness.recovery``) are computed from the stage results and written to
``results.json["robustness"]``.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from musebench.experiment.context import ModelRef, RunContext
from musebench.io import stable_hash

logger = logging.getLogger(__name__)

#: Bump when what a robustness stage computes changes.
ROBUSTNESS_VERSION = 2
#: Why an attack that fine-tunes the weights (``Attack.trains``) is not run on a WHP / ULD checkpoint.
WHP_NO_RELEARN = (
    "not run: a WHP / ULD checkpoint combines two models' logits and has no weights of its own to fine-tune"
)


def not_run(attack) -> str:
    """The note an attack whose optional package is absent gets in results and report (the built-in
    experiments skip it instead of failing, so they run with what the core install brings)."""
    return f"not run: pip install 'musebench[{attack.extra}]'"


def _split(ctx: RunContext, on: str):
    from musebench.robustness import load_tags, split_forget

    spec = ctx.cfg.robustness
    return split_forget(ctx.corpus, load_tags(ctx.data_dir, ctx.corpus), spec.fraction, on, ctx.cfg.seed)


def _paraphrase_key(ctx: RunContext) -> str:
    return stable_hash([q.__dict__ for q in ctx.corpus.knowmem_forget_qa_paraphrase])


def _models(ctx: RunContext) -> list[tuple[str, ModelRef, bool]]:
    """(name, model, is a method) for the controls first, then every method chosen for C7."""
    out = [("target", ctx.target, False), ("retrain", ctx.retrain, False)]
    out += [
        (spec.name, ctx.selected[spec.name], True) for spec in ctx.cfg.robustness_methods() if spec.name in ctx.selected
    ]
    return out


#: The attacks the ``robustness:`` block configures by name (``experiment.config.RobustnessSpec``).
BLOCK_KEYS = ("quantize", "relearn", "paraphrase")


def _planned(ctx: RunContext, splits: dict) -> list[tuple[Any, str, Any, dict]]:
    """(attack, variant, value, its stage key's own part) for every attack the ``robustness:`` block asks for."""
    from musebench.robustness.registry import ATTACKS

    spec = ctx.cfg.robustness
    budget = spec.relearn_budget(ctx.cfg.seed)
    planned = [
        (
            ATTACKS["quantize"],
            scheme,
            scheme,
            {"scheme": scheme, "metrics": ctx.cfg.eval.metrics, "retrain_auc": ctx.retrain_auc},
        )
        for scheme in spec.quantize
    ]
    planned += [
        (
            ATTACKS["relearn"],
            on,
            (split, budget),
            {"split": split.describe(), "fraction": spec.fraction, "budget": budget, "seed": ctx.cfg.seed},
        )
        for on, split in splits.items()
    ]
    if spec.paraphrase and ctx.corpus.knowmem_forget_qa_paraphrase:
        planned.append((ATTACKS["paraphrase"], "", None, {"paraphrase": _paraphrase_key(ctx)}))
    # any other registered attack: at its default option, where the corpus has what it needs
    for attack in ATTACKS.values():
        if attack.name not in BLOCK_KEYS and all(getattr(ctx.corpus, p) for p in attack.needs):
            value = attack.value(None)
            planned.append(
                (attack, "" if value is None else str(value), value, {"attack": attack.name, "option": value})
            )
    return planned


def _combines_logits(method: str) -> bool:
    from musebench.unlearn import METHODS

    return method in METHODS and METHODS[method].combines_logits


def _stage_runs(ctx: RunContext, name: str, ref: ModelRef, splits: dict, wall: list[float]) -> dict[str, Any]:
    """Every attack on one model, one stage each; returns attack -> stage result (``wall`` gets the times)."""
    base = {"model": ref.key, "corpus": ctx.corpus_key, "settings": ctx.eval_settings, "version": ROBUSTNESS_VERSION}
    out: dict[str, Any] = {}
    for attack, variant, value, key in _planned(ctx, splits):
        stage = attack.stage(variant)
        if attack.library_missing():
            out[stage] = {"skipped": not_run(attack)}  # not a stage: installing the extra runs it
            continue
        if attack.trains and ref.checkpoint and _combines_logits(ctx.cfg.method(name).method):
            out[stage] = {"skipped": WHP_NO_RELEARN}
            continue
        done = ctx.store.run(
            f"robustness/{name}/{stage}",
            {**base, **key},
            lambda attack=attack, value=value: ctx.backend.evaluate_attacked(
                attack.name,
                ref.path,
                value,
                ctx.corpus,
                ctx.eval_settings,
                ctx.cfg.eval.metrics,
                ctx.retrain_auc,
                ref.checkpoint,
            ),
        )
        wall.append(done.wall_s)
        out[stage] = done.result
    return out


def check_robustness(ctx: RunContext) -> None:
    """Fail before any training when the block cannot run: schemes bitsandbytes cannot run on the device,
    a fraction that leaves no held-out part, an unknown split. Cheap: nothing is loaded."""
    spec = ctx.cfg.robustness
    if not spec.enabled:
        return
    from musebench.errors import ConfigError, MusebenchError
    from musebench.robustness.registry import ATTACKS

    quantize = ATTACKS["quantize"]
    schemes = spec.quantize
    if schemes and quantize.library_missing():
        warnings.warn(
            f"{quantize.library} is not installed: C7's quantization attacks ({', '.join(schemes)}) are "
            f"skipped (pip install 'musebench[{quantize.extra}]' runs them)",
            stacklevel=2,
        )
        schemes = []
    try:
        for scheme in schemes:
            ctx.backend.check_attack("quantize", scheme)
        for on in spec.relearn_on:
            _split(ctx, on)
        for attack in ATTACKS.values():  # any other registered attack, at its default
            if attack.name not in BLOCK_KEYS and attack.check is not None and not attack.library_missing():
                ctx.backend.check_attack(attack.name, attack.value(None))
    except MusebenchError as err:
        field = {"--scheme": "robustness.quantize", "--fraction": "robustness.relearn.fraction"}.get(
            err.field or "", err.field or "robustness"
        )
        raise ConfigError(err.message, file=ctx.cfg.source_file, field=field, value=err.value) from err


def run_robustness(ctx: RunContext) -> dict[str, Any] | None:
    """Run C7 for the experiment's ``robustness:`` block; ``results.json`` is updated after each model."""
    from musebench.robustness.registry import stage_title
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
        doc = summarise(
            runs, selected, ctx.target_scores, ctx.retrain_scores, baseline_items=ctx.items, seed=ctx.cfg.seed
        )
        relearn = {"on": spec.relearn_on, "fraction": spec.fraction, **spec.relearn_budget(ctx.cfg.seed)}
        doc["settings"] = {
            "quantize": spec.quantize,
            "relearn": relearn,
            "paraphrase": spec.paraphrase,
            "split": {on: s.describe() for on, s in splits.items()},
        }
        doc["notes"] = notes
        doc["titles"] = {stage: stage_title(stage) for model in runs.values() for stage in model}
        doc["timing_s"] = {"attacks": round(sum(wall), 2), "stages": len(wall)}  # first cost of cached stages
        ctx.results.set_robustness(doc)
    robustness = ctx.results.record.robustness
    return robustness.to_dict() if robustness is not None else None
