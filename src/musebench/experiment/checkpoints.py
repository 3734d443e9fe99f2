"""One unlearning request end to end: unlearn, evaluate every checkpoint, apply the selection rule.

The main methods, each C5 fold and each C6 request all go through ``unlearn_and_select``; only the start
model, the forget split and the reference model differ. Each piece is its own cached stage.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musebench.errors import ConfigError
from musebench.experiment.config import MethodSpec
from musebench.experiment.context import ModelRef, RunContext
from musebench.experiment.selection import Selection, is_final, select_checkpoint, selection_metrics
from musebench.io import atomic_write_text, stable_hash
from musebench.results import Checkpoint

STAGE_KEY_FILE = ".musebench-stage-key"
SHARED_FINETUNED = "finetuned"


@dataclass
class RequestOutcome:
    checkpoints: list[dict[str, Any]]  # [{"label", "scores", "ci"}] in training order (evaluated ones)
    trained: int  # checkpoints the unlearning run wrote (more than evaluated when selection stopped early)
    selection: Selection
    scores: dict[str, float]  # every criterion of the selected checkpoint
    ci: dict[str, list[float]]
    selected_model: ModelRef
    timing_s: dict[str, float]
    unlearn_key: str
    judged: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # own_fold: fold-question scores
    items: dict[str, list[float]] = dataclasses.field(default_factory=dict)  # the selected one's per question

    def checkpoint_records(self, which: str = "checkpoints") -> tuple[Checkpoint, ...]:
        """``checkpoints`` (or ``judged``) as results records."""
        return tuple(Checkpoint.from_evaluation(c, label=c["label"]) for c in getattr(self, which))

    def follow_up_fields(self) -> dict[str, Any]:
        """What a C5 fold's or C6 request's record takes from the request (``musebench.results.FollowUp``)."""
        return {
            "selected": self.selection.label,
            "selection_reason": self.selection.reason,
            "scores": dict(self.scores),
            "ci": {k: (v[0], v[1]) for k, v in self.ci.items()},
            "checkpoints": self.checkpoint_records(),
            "checkpoints_trained": self.trained,
            "timing_s": self.timing_s,
            "judged": self.checkpoint_records("judged"),
        }


def _weight_fields(fields: dict[str, Any], recipe_only: bool = False) -> dict[str, Any]:
    """The request's fields that change its checkpoints (not in ``unlearn.config.WEIGHTLESS``: not progress,
    checkpoint keeping, the device or where θ_ft lives); with ``recipe_only`` only the training recipe's,
    which decide θ_ft (no family's fields, no α values)."""
    from musebench.unlearn.config import key_fields, recipe_fields

    return key_fields(fields, only=recipe_fields() if recipe_only else None)


def needs_finetuned(spec: MethodSpec) -> bool:
    """Whether ``spec``'s method is built on θ_ft, the target fine-tuned on the forget set
    (``unlearn.edit.finetune``). In one experiment such methods share it, as MUSE did: keyed by start model,
    forget split and recipe, it is trained once."""
    from musebench.unlearn import METHODS

    return spec.method in METHODS and METHODS[spec.method].needs_finetuned


def _prepare_out_dir(out_dir: Path, key: str, force: bool) -> bool:
    """Resume a crashed unlearning run only if it was started with the same key; else start clean."""
    marker = out_dir / STAGE_KEY_FILE
    resume = not force and marker.is_file() and marker.read_text().strip() == key
    if not resume and out_dir.exists():
        shutil.rmtree(out_dir)
    atomic_write_text(marker, key + "\n")
    return resume


def unlearn_and_select(
    ctx: RunContext,
    stage: str,
    spec: MethodSpec,
    start: ModelRef,
    forget_split: str,
    reference: ModelRef | None,
    eval_mode: str,
    main_label: str | None = None,
) -> RequestOutcome:
    """Unlearn ``forget_split`` from ``start`` with ``spec``; ``stage`` names the stages and the output dir.

    ``main_label`` marks a C5 / C6 request: the label the method's main request selected, which the request
    keeps (``selection.follow_ups: main``, the paper) or replaces by the rule on its fold's own questions
    (``own_fold``). A follow-up is never judged by the main forget questions."""
    fields = ctx.cfg.unlearn_fields(spec)
    if needs_finetuned(spec):
        fields["finetuned_dir"] = str(shared_finetuned_dir(ctx, start, forget_split, fields))
    out_dir = ctx.run_dir / stage
    key_parts = {
        "start": start.key,
        "corpus": ctx.corpus_key,
        "forget": _split_key(ctx, forget_split),
        "fields": _weight_fields(fields),
        "reference": reference.key if reference else None,
    }
    key = stable_hash(key_parts)

    def unlearn() -> list[dict[str, str]]:
        resume = ctx.store.once(lambda: _prepare_out_dir(out_dir, key, ctx.store.force))
        ckpts = ctx.backend.unlearn(
            start.path, ctx.corpus, fields, out_dir, forget_split, reference.path if reference else None, resume
        )
        if not ckpts:
            raise RuntimeError(f"unlearning {spec.name} on {forget_split} produced no checkpoint")
        return [{"label": c["label"], "path": ctx.relative(c["path"])} for c in ckpts]

    def outputs_exist(result: list[dict[str, str]]) -> bool:
        return all(Path(ctx.absolute(c["path"])).exists() for c in result)

    # shareable: C5 fold 1 and C6 request 1 are the main request (same start, documents and recipe)
    done = ctx.store.run(f"{stage}/unlearn", key_parts, unlearn, still_valid=outputs_exist, shareable=True)
    if main_label is not None and ctx.cfg.selection.follow_ups == "main":
        picked = _take_main_choice(ctx, stage, done, main_label, eval_mode)
    else:
        picked = _apply_rule(ctx, stage, done, eval_mode, forget_split if main_label is not None else "forget")
    evaluated, selection, position, eval_wall, judged = picked
    chosen = done.result[selection.index]
    full = evaluated[position]
    model = ModelRef(ctx.absolute(chosen["path"]), stable_hash([done.key, chosen["label"]]), checkpoint=True)
    return RequestOutcome(
        checkpoints=evaluated,
        trained=len(done.result),
        selection=selection,
        scores=full["scores"],
        ci=full["ci"],
        selected_model=model,
        timing_s={"unlearn": round(done.wall_s, 2), "eval": round(eval_wall, 2)},
        unlearn_key=done.key,
        judged=judged,
        items=full.get("items") or {},
    )


def main_label(ctx: RunContext, spec: MethodSpec) -> str:
    """The label the method's main request selected, which a C5 / C6 request keeps under ``follow_ups: main``
    (the main request runs first in the line). Under ``own_fold`` it only marks the request as a follow-up:
    the main request may still be running beside it."""
    method = ctx.results.record.methods.get(spec.name)
    if method is not None:
        return method.selected
    if ctx.cfg.selection.follow_ups == "main":
        raise RuntimeError(f"C5 / C6 of {spec.name} started before its main request was selected")
    return ""


def _take_main_choice(ctx: RunContext, stage: str, done, main_label: str, eval_mode: str):
    """The paper's C5 / C6 rule: the request keeps the epoch (alpha) the main request selected."""
    labels = [c["label"] for c in done.result]
    if main_label not in labels:
        raise ConfigError(
            f"the main request selected {main_label}, which this request did not write "
            f"({', '.join(labels)}); give C5/C6 the same epochs / alphas, or use "
            "selection.follow_ups: own_fold",
            file=ctx.cfg.source_file,
            field="selection.follow_ups",
        )
    index = labels.index(main_label)
    todo = [done.result[index]] if eval_mode == "selection" else done.result
    evaluated, wall = [], 0.0
    for ckpt in todo:
        ev = _evaluate_checkpoint(ctx, f"{stage}/eval/{ckpt['label']}", done.key, ckpt, ctx.cfg.eval.metrics)
        wall += ev.wall_s
        evaluated.append({"label": ckpt["label"], **ev.result})
    selection = Selection(main_label, index, f"the main request's choice ({main_label}), as in the paper")
    return evaluated, selection, 0 if eval_mode == "selection" else index, wall, []


def _apply_rule(ctx: RunContext, stage: str, done, eval_mode: str, judged_by: str):
    """The paper's rule on this request's checkpoints, with KnowMem on ``judged_by``'s questions (the main
    forget questions for a main request, the fold's own for a C5 / C6 request under ``own_fold``)."""
    full_metrics = ctx.cfg.eval.metrics
    floor = ctx.cfg.selection.utility_floor
    own = judged_by != "forget"
    retrain_knowmem_f = retrain_fold_knowmem(ctx, judged_by) if own else ctx.retrain_scores["knowmem_f"]
    rule = {
        "retrain_knowmem_f": retrain_knowmem_f,
        "utility_floor": floor,
        "target_knowmem_r": ctx.target_scores.get("knowmem_r"),
    }
    lazy = eval_mode == "selection"
    evaluated, judged, wall = [], [], 0.0
    for ckpt in done.result:
        if own:  # the fold's questions judge; the reported criteria stay those of the main corpus
            ev = _evaluate_checkpoint(
                ctx, f"{stage}/judge/{ckpt['label']}", done.key, ckpt, selection_metrics(floor), questions_of=judged_by
            )
            wall += ev.wall_s
            judged.append({"label": ckpt["label"], **ev.result})
        if not (lazy and own):
            ev = _evaluate_checkpoint(
                ctx, f"{stage}/eval/{ckpt['label']}", done.key, ckpt, selection_metrics(floor) if lazy else full_metrics
            )
            wall += ev.wall_s
            evaluated.append({"label": ckpt["label"], **ev.result})
        if lazy and is_final((judged if own else evaluated)[-1]["scores"], **rule):
            break  # the rule keeps the first such checkpoint: later ones cannot change the choice
    selection = select_checkpoint([(c["label"], c["scores"]) for c in (judged if own else evaluated)], **rule)
    if own:
        selection = Selection(
            selection.label,
            selection.index,
            selection.reason.replace("knowmem_f", f"knowmem_f on {judged_by}'s questions", 1),
        )
    chosen = done.result[selection.index]
    position = selection.index
    if lazy:  # only selection's criteria were computed per checkpoint: now all of them
        ev = _evaluate_checkpoint(ctx, f"{stage}/eval/{chosen['label']}/all", done.key, chosen, full_metrics)
        wall += ev.wall_s
        full = {"label": chosen["label"], **ev.result}
        if own:  # the per-checkpoint scores were on the fold's questions: they go to ``judged``
            evaluated, position = [full], 0
        else:
            evaluated[selection.index] = full  # the selected checkpoint carries every criterion
    return evaluated, selection, position, wall, judged


def fold_corpus(ctx: RunContext, split: str):
    """The corpus with KnowMem-forget asking the questions about ``split``'s documents."""
    questions = ctx.corpus.fold_questions(split)
    if not questions:
        raise ConfigError(
            f"selection.follow_ups: own_fold needs KnowMem questions for {split} (knowmem/{split}_qa.json)",
            file=ctx.cfg.source_file,
            field="selection.follow_ups",
        )
    return dataclasses.replace(ctx.corpus, knowmem_forget_qa=questions)


def retrain_fold_knowmem(ctx: RunContext, split: str) -> float:
    """The retrain model's KnowMem on the questions about ``split`` (it never read those documents)."""
    corpus = fold_corpus(ctx, split)
    key_parts = {
        "model": ctx.retrain.key,
        "corpus": ctx.corpus_key,
        "questions": _questions_key(corpus),
        "settings": ctx.eval_settings,
    }
    done = ctx.store.run(
        f"eval/retrain/{split}",
        key_parts,
        lambda: ctx.backend.evaluate(
            ctx.retrain.path,
            corpus,
            ctx.eval_settings,
            ["knowmem_f"],
            None,
            False,
            ctx.run_dir / "eval" / "retrain" / split,
        ),
    )
    return done.result["scores"]["knowmem_f"]


def _split_key(ctx: RunContext, forget_split: str) -> str:
    """The forget request's documents, by content: a fold that holds the forget set's documents is that set."""
    return stable_hash(ctx.corpus.forget_split(forget_split))


def _questions_key(corpus) -> str:
    return stable_hash([q.__dict__ for q in corpus.knowmem_forget_qa])


def shared_finetuned_dir(ctx: RunContext, start: ModelRef, forget_split: str, fields: dict[str, Any]) -> Path:
    """``RUN/finetuned/<key>``: the one θ_ft of this start model, forget split and recipe in the run.

    Registered as a cached stage: under ``--force`` its first use in the invocation empties it (θ_ft is
    trained again, once), otherwise an existing one, even from an interrupted run, is reused or resumed by
    ``unlearn.edit.finetune.ensure_finetuned``, which also checks its recorded key."""
    recipe = _weight_fields(fields, recipe_only=True)
    key_parts = {
        "start": start.key,
        "corpus": ctx.corpus_key,
        "forget": _split_key(ctx, forget_split),
        "recipe": recipe,
    }
    path = ctx.run_dir / SHARED_FINETUNED / stable_hash(key_parts, 12)

    def prepare() -> str:
        if path.exists():
            shutil.rmtree(path)  # forced, or left by a run whose stage marker was lost: trained again
        path.mkdir(parents=True)
        return ctx.relative(path)

    ctx.store.run(f"finetuned/{path.name}", key_parts, prepare, still_valid=lambda p: Path(ctx.absolute(p)).is_dir())
    return path


def _evaluate_checkpoint(
    ctx: RunContext,
    stage: str,
    unlearn_key: str,
    ckpt: dict[str, str],
    metrics: list[str] | None,
    questions_of: str | None = None,
):
    """One checkpoint's evaluation stage; ``questions_of`` swaps in a fold's KnowMem-forget questions."""
    corpus = ctx.corpus if questions_of is None else fold_corpus(ctx, questions_of)
    key_parts = {
        "unlearn": unlearn_key,
        "label": ckpt["label"],
        "settings": ctx.eval_settings,
        "retrain_auc": ctx.retrain_auc,
        "metrics": metrics,
    }
    if questions_of is not None:
        key_parts["questions"] = _questions_key(corpus)
    return ctx.store.run(
        stage,
        key_parts,
        lambda: ctx.backend.evaluate(
            ctx.absolute(ckpt["path"]), corpus, ctx.eval_settings, metrics, ctx.retrain_auc, True, ctx.run_dir / stage
        ),
        shareable=True,  # one checkpoint scored twice (a C5 fold 1 of the main request) is scored once
    )
