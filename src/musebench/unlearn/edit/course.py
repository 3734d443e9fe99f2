"""The course every Task Vector / WHP request takes: fine-tune once (or reuse θ_ft), then write one edited
checkpoint per α and ``run.json``.

The two methods differ only in what an α checkpoint is (edited weights, or a ``whp.json`` naming two models),
so each passes its ``write_alphas``; everything else (resume, the shared θ_ft, the distributed hand-over,
the record) is here. θ_ft comes from ``finetune.ensure_finetuned``, which calls ``training.train``
directly: nothing here goes back through ``run_unlearning``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from musebench.errors import ConfigError
from musebench.unlearn.config import Checkpoint, UnlearnRun
from musebench.unlearn.edit.finetune import barrier, ensure_finetuned, is_main_process
from musebench.unlearn.record import RunRecord, corpus_entry, read_run


def alpha_label(alpha: float) -> str:
    """``alpha-1``, ``alpha-512``, ``alpha-0.5``: the checkpoint label of an edit strength."""
    return f"alpha-{alpha:g}"


def previous_edit_run(out_dir, config, resume: bool):
    """A finished Task Vector / WHP run with the same config, to return as it is when resuming.

    Without ``resume`` the α checkpoints are simply written again (cheap: θ_ft is cached); a directory that
    holds another method's run is an error, never overwritten."""
    previous = read_run(out_dir)
    if previous is not None and previous.method != config.method:
        raise ConfigError(
            f"output directory already holds a '{previous.method}' run; choose another output directory", file=out_dir
        )
    if resume and previous is not None and previous.status == "complete" and not config.changed_from(previous.config):
        return previous
    return None


def run_alpha_edit(model_dir, corpus, config, out_dir, forget_split: str, resume: bool, write_alphas):
    """The course every Task Vector / WHP request takes; ``write_alphas(ft_path, checkpoints)`` differs.

    A finished run with the same config is returned as it is (with ``resume``); otherwise every process
    trains (or reuses) θ_ft together, the main process writes one checkpoint per α and ``run.json``, and
    after the barrier every process returns the saved run.
    """
    out_dir = Path(out_dir)
    if (done := previous_edit_run(out_dir, config, resume)) is not None:
        return done
    started = time.monotonic()
    ft_path, history = ensure_finetuned(model_dir, corpus, config, out_dir, forget_split, resume=resume)
    checkpoints = [Checkpoint(alpha_label(a), out_dir / alpha_label(a)) for a in config.alphas]
    run = None
    if is_main_process():
        write_alphas(ft_path, checkpoints)
        run = write_edit_run(
            out_dir, config, model_dir, corpus, forget_split, ft_path, checkpoints, history, time.monotonic() - started
        )
    barrier()
    if run is None:  # other ranks: the main process wrote it
        run = read_run(out_dir)
    return run


def write_edit_run(
    out_dir, config, model_dir, corpus, forget_split: str, finetuned_path, checkpoints, history: dict, elapsed_s: float
) -> UnlearnRun:
    """``run.json`` of a finished Task Vector / WHP run; returns the ``UnlearnRun`` it records."""
    out_dir = Path(out_dir)
    record = RunRecord(
        out_dir,
        config.method,
        config.record(),
        model=str(model_dir),
        finetuned=os.path.relpath(Path(finetuned_path).resolve(), out_dir.resolve()),
        forget_split=forget_split,
        corpus=corpus_entry(corpus),
        status="complete",
        checkpoints=[{"label": c.label, "path": c.label} for c in checkpoints],
        history=history,
        timing_s={"unlearn": round(elapsed_s, 3)},
    )
    record.write()
    return record.as_run()
