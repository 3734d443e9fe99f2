"""C6 sustainability: unlearning requests that arrive one after another (sust/forget_1, then _2, ...).

Request k starts from the model request k-1 SELECTED (the target for the first), and that same model is
the frozen reference of NPO / KL terms: MUSE's reference is "the model at the start of the request".
Fold 1 is the forget set, folds 2-4 new documents the target read. A request keeps the epoch / alpha the
method's main request selected (the paper; ``selection.follow_ups: main``) or is judged by KnowMem on its own
fold's questions (``own_fold``), never by the main forget questions it does not target.
"""

from __future__ import annotations

from musebench.experiment.checkpoints import main_label as _main_label
from musebench.experiment.checkpoints import unlearn_and_select
from musebench.experiment.config import MethodSpec
from musebench.experiment.context import RunContext
from musebench.results import SustainabilityRequest


def run_sustainability(ctx: RunContext, spec: MethodSpec, folds: list[int]) -> list[SustainabilityRequest]:
    """One row per request, in order; each row names the model it started from."""
    rows: list[SustainabilityRequest] = []
    previous = ctx.target
    for request, k in enumerate(folds, start=1):
        split = f"sust/forget_{k}"
        out = unlearn_and_select(
            ctx,
            f"sust/{spec.name}/request-{request}",
            spec,
            previous,
            split,
            reference=previous,
            eval_mode=ctx.cfg.sustainability.eval_checkpoints,
            main_label=_main_label(ctx, spec),
        )
        rows.append(
            SustainabilityRequest(
                request=request,
                fold=k,
                forget_docs=len(ctx.corpus.forget_split(split)),
                started_from="target" if previous is ctx.target else ctx.relative(previous.path),
                **out.follow_up_fields(),
            )
        )
        ctx.results.set_follow_up(spec.name, "sustainability", rows)
        previous = out.selected_model
    return rows
