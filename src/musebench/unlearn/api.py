"""``run_unlearning`` and ``load_unlearned``: the Python API of the unlearn stage.

One request = one model, one forget split, one method. The output directory holds one plain Hugging Face
model per epoch (``epoch-1/`` ...) or per edit strength (``alpha-A/``) and ``run.json`` (``record.py``).
Gradient methods go to ``training.train``; Task Vector and WHP are functions with this signature that
fine-tune through ``edit/finetune.py`` (which calls training directly) and then edit.
"""

from __future__ import annotations

from pathlib import Path

from musebench.errors import ConfigError
from musebench.unlearn.config import UnlearnConfig, UnlearnRun
from musebench.unlearn.record import RUN_FILE, RunRecord


def run_unlearning(
    model_dir: str | Path,
    corpus,
    config: UnlearnConfig,
    out_dir: str | Path,
    forget_split: str = "forget",
    reference_dir: str | Path | None = None,
    resume: bool = False,
) -> UnlearnRun:
    """Unlearn ``corpus.forget_split(forget_split)`` from the model in ``model_dir``; save under ``out_dir``.

    ``reference_dir`` replaces the frozen copy of the start model as the NPO / KL reference (C6: the
    previous request's model). ``resume`` continues an interrupted run from its last Trainer checkpoint
    and returns a finished run as it is.
    """
    spec = config.spec
    if not spec.is_trainer:  # Task Vector, WHP, ULD: no gradient unlearning of their own
        runner = spec.load()
        return runner(
            model_dir,
            corpus,
            config,
            Path(out_dir),
            forget_split=forget_split,
            reference_dir=reference_dir,
            resume=resume,
        )
    from musebench.unlearn.training import train

    return train(
        model_dir, corpus, config, out_dir, forget_split=forget_split, reference_dir=reference_dir, resume=resume
    )


def load_unlearned(path: str | Path, device: str = "cpu", dtype=None, trust_remote_code: bool = False):
    """Load any checkpoint musebench writes as a ``LoadedModel``: a model or epoch / alpha directory, or a
    WHP directory (``whp.json``), which becomes a wrapper under the evaluation model contract. A hub name
    or any other model directory goes to ``load_model`` unchanged."""
    from musebench.models.loading import load_model

    local = Path(path)
    if (local / "whp.json").is_file():
        from musebench.unlearn.edit.whp import load_whp

        return load_whp(local, device, dtype)
    if (local / "uld.json").is_file():
        from musebench.unlearn.edit.uld import load_uld

        return load_uld(local, device, dtype)
    if (local / RUN_FILE).is_file() and not (local / "config.json").is_file():
        run = RunRecord.read(local)
        labels = ", ".join(c["label"] for c in run.checkpoints) or "none yet"
        raise ConfigError(f"this is a run directory; load one of its checkpoints ({labels})", file=local)
    return load_model(path, device=device, dtype=dtype, trust_remote_code=trust_remote_code)
