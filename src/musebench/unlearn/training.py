"""One Trainer-driven training request: a gradient method (or the plain fine-tune of Task Vector / WHP) on
one model and one forget split, saved as one Hugging Face model per epoch plus ``run.json``.

The checks come first (an existing run is resumed only with ``resume`` and an unchanged config; empty or
missing data is an error before any model is loaded), then the Trainer runs with the callbacks that save each
epoch and keep ``run.json`` current. While unfinished, the Trainer's own checkpoints under ``checkpoints/``
let ``resume=True`` continue to the same weights.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from musebench.errors import ConfigError, DataError, MusebenchError
from musebench.unlearn.config import UnlearnConfig, UnlearnRun
from musebench.unlearn.record import RunRecord, corpus_entry

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"


def train(
    model_dir: str | Path,
    corpus,
    config: UnlearnConfig,
    out_dir: str | Path,
    forget_split: str = "forget",
    reference_dir: str | Path | None = None,
    resume: bool = False,
) -> UnlearnRun:
    """Train ``config.method`` (a trainer method) on ``corpus``'s forget split.

    A finished run in ``out_dir`` with the same config is returned as it is when ``resume`` is set.
    Every process of a distributed run calls this (training is collective); all return the saved run.
    """
    spec = config.spec
    out_dir = Path(out_dir)
    previous = RunRecord.read(out_dir)
    if previous is not None:
        if not resume:
            raise ConfigError(
                "output directory already holds an unlearning run; pass --resume to continue it or "
                "choose another --out",
                file=out_dir,
            )
        # only what changes the weights must match (not ``config.WEIGHTLESS``): progress, checkpoint keeping,
        # logging or the device may differ between an interrupted run and its resume
        changed = config.changed_from(previous.config)
        if changed:
            raise ConfigError(
                "cannot resume with a different config (changed: "
                + ", ".join(f"{k} {then!r} -> {now!r}" for k, (then, now) in changed.items())
                + ")",
                file=out_dir / "run.json",
                field=next(iter(changed)),
            )
        if previous.status == "complete":
            return previous.as_run()
    forget_docs = corpus.forget_split(forget_split)
    if not forget_docs:
        raise DataError(
            f"forget split '{forget_split}' of corpus '{corpus.name}' is empty",
            field="forget_split",
            value=forget_split,
        )
    if spec.uses_retain_text and not corpus.retain1:
        raise DataError(
            f"method '{config.method}' needs retain text but corpus '{corpus.name}' has no retain1 documents",
            field="retain1",
        )
    return _train(
        Path(model_dir),
        corpus,
        config,
        out_dir,
        forget_split,
        forget_docs,
        Path(reference_dir) if reference_dir else None,
        resume,
        previous,
    )


# ── what the config becomes for the Trainer (the one place it is translated) ──


def _weights_dtype(name: str):
    """The dtype the model trains in (``models.dtypes``: 'auto' is float32 master weights)."""
    from musebench.models.dtypes import resolve_dtype

    return resolve_dtype(name, use="training")


def _mixed_precision(args) -> str:
    """The Trainer's mixed precision, as run.json records it."""
    return "bf16" if args.bf16 else "fp16" if args.fp16 else "no"


def trainer_arguments(config: UnlearnConfig, checkpoints_dir: Path) -> UnlearnConfig:
    """The config itself as the Trainer's arguments (it is a ``TrainingArguments``), with what the run
    decides filled in: where the Trainer checkpoints go, bf16 when left to the machine (on a bf16-capable
    CUDA GPU), no Hugging Face bar (musebench draws its own), the data order seeded by ``seed``."""
    import dataclasses

    import torch

    bf16 = config.bf16
    if bf16 is None:
        bf16 = not config.use_cpu and not config.fp16 and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    use_cpu = config.use_cpu or not (torch.cuda.is_available() or mps)  # said, so pinned memory is not asked for
    args = dataclasses.replace(
        config,
        output_dir=str(checkpoints_dir),
        bf16=bf16,
        use_cpu=use_cpu,
        disable_tqdm=config.disable_tqdm or not config.progress,
        data_seed=config.seed if config.data_seed is None else config.data_seed,
    )
    _ = args._setup_devices  # devices and accelerate's state now, as the Trainer would (a config alone never does)
    return args


def training_history(log_history: list[dict]) -> dict:
    """What ``run.json`` keeps of the Trainer's ``log_history``: the logged parts per step, means per epoch."""
    from musebench.unlearn.callbacks import LOGGED_PARTS, epoch_summaries

    keep = ("step", "epoch", "learning_rate") + LOGGED_PARTS
    steps = [{k: v for k, v in e.items() if k in keep} for e in log_history if "loss" in e]
    return {"steps": steps, "epochs": epoch_summaries(log_history)}


def _train(
    model_dir, corpus, config, out_dir, forget_split, forget_docs, reference_dir, resume, previous: RunRecord | None
) -> UnlearnRun:
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
    from musebench.unlearn.resume import check_pickled_files, last_complete_checkpoint

    spec = config.spec
    started = time.monotonic()
    dtype = _weights_dtype(config.dtype)
    loaded = load_model(model_dir, device="cpu", dtype=dtype)
    model, tokenizer = loaded.model, loaded.tokenizer
    model.config.use_cache = False

    forget = token_windows(forget_docs, tokenizer, config.max_len, split=forget_split)
    retain = (
        token_windows(corpus.retain1, tokenizer, config.max_len, split="retain1") if spec.uses_retain_text else None
    )
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
    args = trainer_arguments(config, checkpoints_dir)
    mixed = _mixed_precision(args)
    trainer = trainer_cls(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=PairCollator(padding_id(tokenizer, model)),
        processing_class=tokenizer,
        unlearn_config=config,
        retain=spec.retain,
        reference=reference,
        copy_start_as_reference=copy_start,
        start_model_dir=model_dir,
    )

    data = {
        "forget_windows": len(forget),
        "forget_tokens": sum(len(w) for w in forget),
        "retain_windows": len(retain) if retain is not None else 0,
        "steps_per_epoch": steps_per_epoch(
            len(forget), config.per_device_train_batch_size, config.gradient_accumulation_steps, args.world_size
        ),
        "device": str(args.device),
        "processes": args.world_size,
        "distributed": str(
            getattr(trainer.accelerator.distributed_type, "value", trainer.accelerator.distributed_type)
        ),
        "mixed_precision": mixed,
        "torch_threads": torch.get_num_threads(),  # per process; the bits of a CPU run depend on it
        "reference": describe_reference(trainer.reference),  # FSDP / ZeRO-3: sharded like the model
    }
    record = RunRecord(
        out_dir,
        config.method,
        config.record(),
        model=str(model_dir),
        reference=str(reference_dir) if reference_dir else None,
        forget_split=forget_split,
        corpus=corpus_entry(corpus),
        data=data,
    )
    if previous is not None:  # a resumed run keeps the epochs it already saved
        record.checkpoints = list(previous.checkpoints)

    def write_record(status: str, error: str | None = None) -> None:
        record.status, record.error = status, error
        record.history = training_history(trainer.state.log_history)
        record.timing_s = {"unlearn": round(time.monotonic() - started, 3)}
        record.write()

    def save(label: str) -> None:
        export_model(trainer, tokenizer, out_dir / label)
        if trainer.is_world_process_zero():
            record.add_checkpoint(label)
            write_record("running")

    def write(line: str) -> None:
        if config.progress:
            from tqdm.auto import tqdm

            tqdm.write(line)
        logger.info(line)

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    if config.progress and is_terminal():
        trainer.add_callback(StepBarCallback)
    elif config.progress:  # a log file: the per-epoch line below, and a step line every ~30 s within an epoch
        from musebench.console import trainer_progress

        trainer.add_callback(trainer_progress(f"unlearn {config.method}"))
    trainer.add_callback(EpochDataCallback(dataset))
    trainer.add_callback(EpochSaveCallback(save))
    trainer.add_callback(EpochLogCallback(lambda line: write(f"unlearn {config.method} {line}")))

    # an interrupted save leaves a checkpoint the Trainer cannot read: the newest complete one is used instead
    resume_from = last_complete_checkpoint(checkpoints_dir, trainer.is_world_process_zero()) if resume else None
    if resume_from is not None:
        check_pickled_files(resume_from)  # a tampered optimizer / RNG file: one line, not an unpickler traceback
    # every process has read out_dir (the resume checks above) before the main one writes to it; without this a
    # late process of a multi-run launch finds this run's fresh record and refuses to overwrite it
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        record.timing_s = {"unlearn": 0.0}
        record.write()  # status "running", no history yet
    try:
        with quiet_shard_bar():
            trainer.train(resume_from_checkpoint=resume_from)
    except MusebenchError as err:
        if trainer.is_world_process_zero():
            write_record("failed", error=str(err))
        raise
    # every process has left train() (whose last step lists the checkpoints folder) before the main one
    # deletes that folder: without this a slower process's listing races the removal and the launch fails
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        write_record("complete")
        if not config.keep_checkpoints:
            shutil.rmtree(checkpoints_dir, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    _release(trainer)
    return RunRecord.read(out_dir).as_run()  # the same answer on every process


def _release(trainer) -> None:
    """Free the trained model, its optimizer and the reference now: an experiment runs many requests in turn."""
    import gc

    import torch

    trainer.model = trainer.model_wrapped = trainer.reference = trainer.optimizer = None
    trainer.accelerator.free_memory()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _with_lora(model, config: UnlearnConfig):
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)
