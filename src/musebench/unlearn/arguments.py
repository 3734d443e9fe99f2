"""What an ``UnlearnConfig`` becomes for the Hugging Face Trainer: its arguments, the weights' dtype, mixed
precision. The one place the config is translated; ``training.py`` only calls these."""

from __future__ import annotations

from pathlib import Path

from musebench.errors import ConfigError
from musebench.unlearn.config import UnlearnConfig


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
