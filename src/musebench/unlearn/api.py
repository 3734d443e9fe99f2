"""``run_unlearning`` and ``load_unlearned``: the Python API of the unlearn stage.

One request = one model, one forget split, one method. The output directory holds one plain Hugging Face
model per epoch (``epoch-1/`` ...), ``run.json`` (resolved config, library versions, data sizes, loss
history, status; rewritten atomically after every epoch) and, while the run is unfinished, the Trainer's
checkpoints under ``checkpoints/`` from which ``resume=True`` continues to the same weights.
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from musebench.errors import ConfigError, DataError, MusebenchError, check_schema
from musebench.io import atomic_write_json
from musebench.models.device import resolve_device
from musebench.unlearn.config import Checkpoint, UnlearnConfig, UnlearnRun

logger = logging.getLogger(__name__)

RUN_SCHEMA_VERSION = 1
CHECKPOINT_DIR = "checkpoints"
RESUME_FREE_FIELDS = ("progress", "keep_checkpoints")  # may differ between an interrupted run and its resume


def run_unlearning(model_dir: str | Path, corpus, config: UnlearnConfig, out_dir: str | Path,
                   forget_split: str = "forget", reference_dir: str | Path | None = None,
                   resume: bool = False) -> UnlearnRun:
    """Unlearn ``corpus.forget_split(forget_split)`` from the model in ``model_dir``; save under ``out_dir``.

    ``reference_dir`` replaces the frozen copy of the start model as the NPO / KL reference (C6: the
    previous request's model). ``resume`` continues an interrupted run from its last Trainer checkpoint
    and returns a finished run as it is.
    """
    config = config.resolved()
    spec = config.spec
    out_dir = Path(out_dir)
    if not spec.is_trainer:  # Task Vector, WHP: no gradient unlearning of their own
        runner = spec.load()
        return runner(model_dir, corpus, config, out_dir, forget_split=forget_split,
                      reference_dir=reference_dir, resume=resume)

    previous = read_run(out_dir)
    if previous is not None:
        if not resume:
            raise ConfigError("output directory already holds an unlearning run; pass --resume to continue it or "
                              "choose another --out", file=out_dir)
        changed = sorted(k for k, v in config.to_dict().items()
                         if k not in RESUME_FREE_FIELDS and previous.config.get(k) != v)
        if changed:
            raise ConfigError("cannot resume with a different config (changed: " + ", ".join(
                f"{k} {previous.config.get(k)!r} -> {getattr(config, k)!r}" for k in changed) + ")",
                file=out_dir / "run.json", field=changed[0])
        if previous.status == "complete":
            return previous
    forget_docs = corpus.forget_split(forget_split)
    if not forget_docs:
        raise DataError(f"forget split '{forget_split}' of corpus '{corpus.name}' is empty", field="forget_split",
                        value=forget_split)
    if spec.uses_retain_text and not corpus.retain1:
        raise DataError(f"method '{config.method}' needs retain text but corpus '{corpus.name}' has no retain1 "
                        "documents", field="retain1")
    return _train(Path(model_dir), corpus, config, out_dir, forget_split, forget_docs,
                  Path(reference_dir) if reference_dir else None, resume, previous)


def _train(model_dir, corpus, config, out_dir, forget_split, forget_docs, reference_dir, resume,
           previous: UnlearnRun | None) -> UnlearnRun:
    import torch
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from musebench.console import is_terminal
    from musebench.models.loading import load_model, padding_id
    from musebench.unlearn.callbacks import (
        EpochDataCallback,
        EpochLogCallback,
        EpochSaveCallback,
        StepBarCallback,
    )
    from musebench.unlearn.data import PairCollator, PairedWindows, steps_per_epoch, token_windows
    from musebench.unlearn.export import export_model, quiet_shard_bar
    from musebench.unlearn.reference import describe as describe_reference
    from musebench.unlearn.resume import last_complete_checkpoint

    spec = config.spec
    started = time.monotonic()
    device = resolve_device(config.device, field="device")
    dtype = _weights_dtype(config.dtype)
    loaded = load_model(model_dir, device="cpu", dtype=dtype)
    model, tokenizer = loaded.model, loaded.tokenizer
    model.config.use_cache = False

    forget = token_windows(forget_docs, tokenizer, config.max_len, split=forget_split)
    retain = token_windows(corpus.retain1, tokenizer, config.max_len, split="retain1") \
        if spec.uses_retain_text else None
    dataset = PairedWindows(forget, retain, seed=config.seed)

    reference = None
    if reference_dir is not None and spec.needs_reference:
        reference = load_model(reference_dir, device="cpu", dtype=dtype).model
    # otherwise the reference is the model at the start of the request: the trainer copies it once it is on
    # its device (LoRA: the base with the adapter switched off, no copy)
    copy_start = spec.needs_reference and reference is None and not config.lora_r
    trainer_cls = spec.load()
    if config.lora_r:
        model = _with_lora(model, config)

    checkpoints_dir = out_dir / CHECKPOINT_DIR
    mixed = _mixed_precision(config.mixed_precision, device)
    args = _training_arguments(config, checkpoints_dir, device, mixed)
    trainer = trainer_cls(model=model, args=args, train_dataset=dataset,
                          data_collator=PairCollator(padding_id(tokenizer, model)), processing_class=tokenizer,
                          unlearn_config=config, retain=spec.retain, reference=reference,
                          copy_start_as_reference=copy_start, start_model_dir=model_dir)

    record = _RunRecord(out_dir, config, model_dir, reference_dir, forget_split, corpus, {
        "forget_windows": len(forget),
        "forget_tokens": sum(len(w) for w in forget),
        "retain_windows": len(retain) if retain is not None else 0,
        "steps_per_epoch": steps_per_epoch(len(forget), config.batch_size, config.grad_accum,
                                           args.world_size),
        "device": str(args.device),
        "processes": args.world_size,
        "distributed": str(getattr(trainer.accelerator.distributed_type, "value", trainer.accelerator.distributed_type)),
        "mixed_precision": mixed,
        "torch_threads": torch.get_num_threads(),  # per process; the bits of a CPU run depend on it
        "reference": describe_reference(trainer.reference),  # FSDP / ZeRO-3: sharded like the model
    })
    if previous is not None:  # a resumed run keeps the epochs it already saved
        record.checkpoints = list(previous.checkpoints)

    def save(label: str) -> None:
        export_model(trainer, tokenizer, out_dir / label)
        if trainer.is_world_process_zero():
            record.add_checkpoint(label)
            record.write("running", trainer.state.log_history, time.monotonic() - started)

    def write(line: str) -> None:
        if config.progress:
            from tqdm.auto import tqdm

            tqdm.write(line)
        logger.info(line)

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    if config.progress and is_terminal():  # in a log file the per-epoch line below is the progress
        trainer.add_callback(StepBarCallback)
    trainer.add_callback(EpochDataCallback(dataset))
    trainer.add_callback(EpochSaveCallback(save))
    trainer.add_callback(EpochLogCallback(write))

    # an interrupted save leaves a checkpoint the Trainer cannot read: the newest complete one is used instead
    resume_from = last_complete_checkpoint(checkpoints_dir, trainer.is_world_process_zero()) if resume else None
    # every process has read out_dir (the resume checks above) before the main one writes to it; without this a
    # late process of a multi-run launch finds this run's fresh record and refuses to overwrite it
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        record.write("running", [], 0.0)
    try:
        with quiet_shard_bar():
            trainer.train(resume_from_checkpoint=resume_from)
    except MusebenchError as err:
        if trainer.is_world_process_zero():
            record.write("failed", trainer.state.log_history, time.monotonic() - started, error=str(err))
        raise
    if trainer.is_world_process_zero():
        record.write("complete", trainer.state.log_history, time.monotonic() - started)
        if not config.keep_checkpoints:
            shutil.rmtree(checkpoints_dir, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    _release(trainer)
    return read_run(out_dir)  # the same answer on every process


def _release(trainer) -> None:
    """Free the trained model, its optimizer and the reference now: an experiment runs many requests in turn."""
    import gc

    import torch

    trainer.model = trainer.model_wrapped = trainer.reference = trainer.optimizer = None
    trainer.accelerator.free_memory()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class _RunRecord:
    """``run.json``: written atomically at the start, after each epoch, and at the end."""

    def __init__(self, out_dir, config, model_dir, reference_dir, forget_split, corpus, data):
        self.out_dir = out_dir
        self.payload = {
            "schema_version": RUN_SCHEMA_VERSION,
            "method": config.method,
            "config": config.to_dict(),
            "model": str(model_dir),
            "reference": str(reference_dir) if reference_dir else None,
            "forget_split": forget_split,
            "corpus": {"name": corpus.name, "fingerprint": corpus.fingerprint(), "source": corpus.source},
            "data": data,
            "versions": library_versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self.checkpoints: list[Checkpoint] = []
        self.history: dict = {"steps": [], "epochs": []}

    def add_checkpoint(self, label: str) -> None:
        self.checkpoints = [c for c in self.checkpoints if c.label != label]
        self.checkpoints.append(Checkpoint(label, self.out_dir / label))

    def write(self, status: str, log_history: list[dict], elapsed_s: float, error: str | None = None) -> None:
        from musebench.unlearn.callbacks import LOGGED_PARTS, epoch_summaries

        keep = ("step", "epoch", "learning_rate") + LOGGED_PARTS
        steps = [{k: v for k, v in e.items() if k in keep} for e in log_history if "loss" in e]
        self.history = {"steps": steps, "epochs": epoch_summaries(log_history)}
        atomic_write_json(self.out_dir / "run.json", {
            **self.payload,
            "status": status,
            "error": error,
            "checkpoints": [{"label": c.label, "path": c.label} for c in self.checkpoints],
            "history": self.history,
            "timing_s": {"unlearn": round(elapsed_s, 3)},
        })


def read_run(out_dir: str | Path) -> UnlearnRun | None:
    """The run saved in ``out_dir`` (None when there is no ``run.json``)."""
    import json

    path = Path(out_dir) / "run.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        check_schema(data, RUN_SCHEMA_VERSION, path, "run record")
        checkpoints = [Checkpoint(c["label"], Path(out_dir) / c["path"]) for c in data.get("checkpoints", [])]
        return UnlearnRun(method=data["method"], out_dir=Path(out_dir), checkpoints=checkpoints,
                          config=data["config"], history=data.get("history", {}), status=data.get("status", ""))
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(f"unreadable run record: {err}", file=path) from err


def load_unlearned(path: str | Path, device: str = "cpu", dtype=None, trust_remote_code: bool = False):
    """Load any checkpoint musebench writes as a ``LoadedModel``: a model or epoch / alpha directory, or a
    WHP directory (``whp.json``), which becomes a wrapper under the evaluation model contract. A hub name
    or any other model directory goes to ``load_model`` unchanged."""
    from musebench.models.loading import load_model

    local = Path(path)
    if (local / "whp.json").is_file():
        from musebench.unlearn.whp import load_whp

        return load_whp(local, device, dtype)
    if (local / "uld.json").is_file():
        from musebench.unlearn.uld import load_uld

        return load_uld(local, device, dtype)
    if (local / "run.json").is_file() and not (local / "config.json").is_file():
        run = read_run(local)
        labels = ", ".join(c.label for c in run.checkpoints) or "none yet"
        raise ConfigError(f"this is a run directory; load one of its checkpoints ({labels})", file=local)
    return load_model(path, device=device, dtype=dtype, trust_remote_code=trust_remote_code)


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    versions = {}
    for name in ("musebench", "torch", "transformers", "accelerate", "peft", "tokenizers"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _weights_dtype(name: str):
    import torch

    return {"auto": torch.float32, "float32": torch.float32, "bfloat16": torch.bfloat16,
            "float16": torch.float16}[name]


def _mixed_precision(name: str, device: str) -> str:
    import torch

    if name != "auto":
        if name != "no" and not device.startswith("cuda"):
            raise ConfigError("mixed precision needs a CUDA device", field="mixed_precision", value=name)
        return name
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "no"


def _training_arguments(config: UnlearnConfig, checkpoints_dir: Path, device: str, mixed: str):
    """The Trainer's arguments: the recipe, a checkpoint per epoch (or per N steps) kept for --resume, one
    log entry per step, no external reporting."""
    from transformers import TrainingArguments

    if config.checkpoint_steps > 0:
        every_steps = {"save_strategy": "steps", "save_steps": config.checkpoint_steps}
    else:
        every_steps = {"save_strategy": "no" if config.checkpoint_steps < 0 else "epoch"}
    return TrainingArguments(
        output_dir=str(checkpoints_dir),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        optim="adamw_torch",
        seed=config.seed,
        data_seed=config.seed,
        **every_steps,
        save_total_limit=1,
        logging_strategy="steps",
        logging_steps=1,
        report_to=[],
        disable_tqdm=not config.progress,
        use_cpu=device == "cpu",
        bf16=mixed == "bf16",
        fp16=mixed == "fp16",
        **_checkpointing_args(config.gradient_checkpointing),
        remove_unused_columns=False,
        dataloader_num_workers=0,
        # every trainable parameter takes part in every step (RMU freezes the layers it does not train), so
        # DDP need not search the graph for unused ones each step
        ddp_find_unused_parameters=False,
    )


def _checkpointing_args(enabled: bool) -> dict:
    """Activation checkpointing, under the name this transformers version uses."""
    import dataclasses

    from transformers import TrainingArguments

    if not enabled:
        return {}
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": True}


def _with_lora(model, config: UnlearnConfig):
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)
