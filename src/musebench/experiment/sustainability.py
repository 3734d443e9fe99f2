"""C6 sustainability: unlearning requests that arrive one after another (sust/forget_1, then _2, ...).

Request k starts from the model request k-1 SELECTED (the target for the first), and that same model is
the frozen reference of NPO / KL terms: MUSE's reference is "the model at the start of the request".
Fold 1 is the forget set, folds 2-4 new documents the target read. A request keeps the epoch / alpha the
method's main request selected (the paper; ``selection.follow_ups: main``) or is judged by KnowMem on its own
fold's questions (``own_fold``), never by the main forget questions it does not target.
"""

from __future__ import annotations

from typing import Any

from musebench.experiment.checkpoints import unlearn_and_select
from musebench.experiment.config import MethodSpec
from musebench.experiment.context import RunContext


def run_sustainability(ctx: RunContext, spec: MethodSpec, folds: list[int]) -> list[dict[str, Any]]:
    """One row per request, in order; each row names the model it started from."""
    rows: list[dict[str, Any]] = []
    previous = ctx.target
    for request, k in enumerate(folds, start=1):
        split = f"sust/forget_{k}"
        out = unlearn_and_select(ctx, f"sust/{spec.name}/request-{request}", spec, previous, split,
                                 reference=previous, eval_mode=ctx.cfg.sustainability.eval_checkpoints,
                                 main_label=ctx.results.data["methods"][spec.name]["selected"])
        rows.append({"request": request, "fold": k, "forget_docs": len(ctx.corpus.forget_split(split)),
                     "started_from": "target" if previous is ctx.target else ctx.relative(previous.path),
                     "selected": out.selection.label, "selection_reason": out.selection.reason,
                     "scores": out.scores, "ci": out.ci,
                     "checkpoints": out.checkpoints, "checkpoints_trained": out.trained,
                     "timing_s": out.timing_s, **({"judged": out.judged} if out.judged else {})})
        ctx.results.set_follow_up(spec.name, "sustainability", rows)
        previous = out.selected_model
    return rows
