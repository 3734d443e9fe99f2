"""θ_ft, the model Task Vector and WHP start from: the target fine-tuned on the forget set with plain NLL.

It is trained once, under ``out_dir/finetuned/`` or the directory ``config.finetuned_dir`` names (an
experiment gives Task Vector and WHP the same one, so the two share one θ_ft as in MUSE), by a direct call of
``training.train`` with method ``finetune`` (the Trainer of every gradient method), so it runs under
``accelerate launch`` / DDP / FSDP / DeepSpeed like them; this module imports training and the run record,
never the API above it. ``finetune_key.json`` records what it was trained from (model, forget documents,
recipe); a second call with the same key reuses it, so sweeping more α values, or the other method, costs
no training. A different key is an error,
never a silent retrain or a silently stale model. Only the last epoch is kept (the others are deleted: a
7B model is 13 GB per epoch).

Vocabulary: ``load_model`` never adds tokens or embedding rows (a tokenizer without a pad token pads with an
existing id under the mask), so θ_ft and the target normally have the same vocabulary. When θ_ft's tokenizer
does carry tokens the target lacks (added at fine-tuning time), :func:`align_vocabulary` gives the target the
fine-tuned model's rows for them, i.e. the task vector is zero on those rows, instead of subtracting two random
initialisations times α (up to 512).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path

import torch

from musebench.errors import ConfigError, ModelError, TrainingError
from musebench.io import atomic_write_json, stable_hash
from musebench.models.dtypes import resolve_dtype
from musebench.unlearn import losses, training
from musebench.unlearn.config import recipe_fields
from musebench.unlearn.record import RunRecord, read_run
from musebench.unlearn.trainer import UnlearnTrainer

logger = logging.getLogger(__name__)

FINETUNED_DIR = "finetuned"
KEY_FILE = "finetune_key.json"


class FinetuneTrainer(UnlearnTrainer):
    """Minimise the forget NLL L_f (the opposite of gradient ascent): θ_ft of Task Vector and WHP (MUSE-SPEC)."""

    def forget_loss(self, model, forget, retain=None):
        return losses.nll(self.logits(model, forget), forget["labels"], self.normaliser("forget", "targets"))


def finetune_recipe(config) -> dict:
    """The fields of ``config`` that determine θ_ft: the training recipe's weight-changing fields
    (``unlearn.config.recipe_fields``: not the device, progress or checkpointing; no method options or α)."""
    values = config.weight_values()
    return {name: values[name] for name in recipe_fields()}


def finetune_key(model_dir, forget_docs: list[str], config) -> dict:
    return {"model": str(model_dir), "forget": stable_hash(forget_docs), "recipe": finetune_recipe(config)}


def finetuned_dir(config, out_dir) -> Path:
    """Where θ_ft of a run lives: ``config.finetuned_dir`` (shared) or ``out_dir/finetuned``."""
    return Path(config.finetuned_dir) if config.finetuned_dir else Path(out_dir) / FINETUNED_DIR


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def barrier() -> None:
    """Wait for every process of a distributed run (no-op in a single process)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


def ensure_finetuned(
    model_dir, corpus, config, out_dir, forget_split: str = "forget", resume: bool = False
) -> tuple[Path, dict]:
    """Train (or reuse) θ_ft under ``out_dir/finetuned``; return its model directory and training history.

    Every process of a distributed run must call this (training is collective).
    """
    forget_docs = corpus.forget_split(forget_split)
    ft_dir = finetuned_dir(config, out_dir)
    key = finetune_key(model_dir, forget_docs, config)
    key_file = ft_dir / KEY_FILE
    previous = read_run(ft_dir)
    if key_file.is_file():
        stored = json.loads(key_file.read_text(encoding="utf-8"))
        if stored != key:
            changed = sorted(k for k in key if stored.get(k) != key[k])
            if "recipe" in changed:
                changed += [f"recipe.{n}" for n, v in key["recipe"].items() if stored.get("recipe", {}).get(n) != v]
            raise ConfigError(
                f"the fine-tuned model here was trained with different settings ({', '.join(changed)}); "
                "remove the directory or choose another output directory",
                file=ft_dir,
            )
        if previous is not None and previous.status == "complete" and previous.checkpoints:
            final = previous.checkpoints[-1].path
            if (final / "config.json").is_file():
                logger.info("reusing the fine-tuned model %s", final)
                return final, previous.history
    elif previous is not None:
        raise ConfigError(
            f"{ft_dir} holds a run without {KEY_FILE}; remove it or choose another output directory", file=ft_dir
        )

    if is_main_process():
        atomic_write_json(key_file, key)
    ft_config = dataclasses.replace(config, method="finetune")
    run = training.train(model_dir, corpus, ft_config, ft_dir, forget_split=forget_split, resume=resume)
    if not run.checkpoints:
        raise TrainingError("fine-tuning on the forget set produced no checkpoint", file=ft_dir)
    final = run.checkpoints[-1]
    if is_main_process():
        _keep_only(ft_dir, final)
    barrier()
    return final.path, run.history


def _keep_only(ft_dir: Path, final) -> None:
    """Delete every epoch but the last and record that in run.json (which lists its checkpoints)."""
    record = RunRecord.read(ft_dir)
    for ckpt in record.checkpoints:
        if ckpt["label"] != final.label:
            shutil.rmtree(ft_dir / ckpt["path"], ignore_errors=True)
    record.checkpoints = [c for c in record.checkpoints if c["label"] == final.label]
    record.write()


@torch.no_grad()
def align_vocabulary(target, finetuned) -> None:
    """Give ``target`` the fine-tuned model's embedding rows for tokens beyond the target's vocabulary."""
    n_target = target.get_input_embeddings().weight.shape[0]
    n_ft = finetuned.get_input_embeddings().weight.shape[0]
    if n_target == n_ft:
        return
    if n_target > n_ft:
        raise ModelError(f"the fine-tuned model has a smaller vocabulary than the target ({n_ft} < {n_target})")
    target.resize_token_embeddings(n_ft, mean_resizing=False)
    target.get_input_embeddings().weight[n_target:] = finetuned.get_input_embeddings().weight[n_target:]
    out_t, out_f = target.get_output_embeddings(), finetuned.get_output_embeddings()
    if out_t is not None and out_f is not None and out_t.weight is not target.get_input_embeddings().weight:
        out_t.weight[n_target:] = out_f.weight[n_target:]


@contextlib.contextmanager
def without_zero3():
    """Load whole models in one process, even after a DeepSpeed ZeRO-3 run in this process.

    After ZeRO-3 training, transformers still sees the run's DeepSpeed config, so ``from_pretrained`` and
    ``resize_token_embeddings`` would partition the weights with ``zero.Init``: a collective that the other
    ranks (waiting for the main process to finish its edits) never join, i.e. a hang.
    """
    try:
        from transformers.integrations import deepspeed as hf_deepspeed
    except ImportError:  # pragma: no cover - transformers always has the module
        yield
        return
    ref = hf_deepspeed._hf_deepspeed_config_weak_ref
    config = ref() if ref is not None else None
    hf_deepspeed.unset_hf_deepspeed_config()
    try:
        yield
    finally:
        if config is not None:
            hf_deepspeed.set_hf_deepspeed_config(config)


def load_target_like(target_dir, finetuned_dir, device: str = "cpu", dtype=None):
    """Load the target with θ_ft's tokenizer and aligned vocabulary; returns ``(target, finetuned)`` LoadedModels."""
    from musebench.models.loading import LoadedModel, load_model

    with without_zero3():
        finetuned = load_model(finetuned_dir, device=device, dtype=dtype)
        target = load_model(
            target_dir, device=device, dtype=dtype, tokenizer_path=finetuned_dir, vocabulary_check=False
        )  # aligned on the next line
        align_vocabulary(target.model, finetuned.model)
    target.model.config.pad_token_id = finetuned.tokenizer.pad_token_id
    return LoadedModel(target.model, finetuned.tokenizer, target.name), finetuned


def weights_dtype(name: str):
    """The config's ``dtype`` field for loading the models to edit (``models.dtypes``, use ``edit``).

    'auto' keeps each checkpoint's stored dtype: the MUSE targets are bf16 on disk, so the α models are
    written in bf16 (13 GB each, not 27), while the task vector is computed from θ_ft in its own precision.
    """
    return resolve_dtype(name, use="edit")
