"""C5 scalability: unlearn forget sets of growing size (scal/forget_1 ⊂ ... ⊂ forget_4) from the target.

Each fold is an independent request on the target model. As in the MUSE release, fold 1 is the forget set and
the later folds add documents the target also read. Its checkpoint is the epoch / alpha the method's main
request selected (the paper; ``selection.follow_ups: main``) or the rule applied with KnowMem on the fold's own
questions (``own_fold``). The row records the fold's size (documents and tokens) beside every criterion of
the selected checkpoint.
"""

from __future__ import annotations

from musebench.experiment.checkpoints import main_label as _main_label
from musebench.experiment.checkpoints import unlearn_and_select
from musebench.experiment.config import MethodSpec
from musebench.experiment.context import RunContext
from musebench.results import ScalabilityFold


def run_scalability(ctx: RunContext, spec: MethodSpec, folds: list[int]) -> list[ScalabilityFold]:
    """One row per fold, in fold order; ``results.json`` is updated after each fold."""
    rows: list[ScalabilityFold] = []
    for k in folds:
        split = f"scal/forget_{k}"
        docs = ctx.corpus.forget_split(split)
        out = unlearn_and_select(
            ctx,
            f"scal/{spec.name}/fold-{k}",
            spec,
            ctx.target,
            split,
            reference=ctx.target,
            eval_mode=ctx.cfg.scalability.eval_checkpoints,
            main_label=_main_label(ctx, spec),
        )
        rows.append(
            ScalabilityFold(
                fold=k,
                forget_docs=len(docs),
                forget_tokens=ctx.backend.count_tokens(ctx.target.path, docs),
                **out.follow_up_fields(),
            )
        )
        ctx.results.set_follow_up(spec.name, "scalability", rows)
    return rows
