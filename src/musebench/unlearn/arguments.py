"""What an ``UnlearnConfig`` becomes for the Hugging Face Trainer: the config itself (it is a
``TrainingArguments``) with what the run decides filled in, the weights' dtype, the mixed precision it
records. The one place the config is translated; ``training.py`` only calls these."""

from __future__ import annotations

from pathlib import Path

from musebench.unlearn.config import UnlearnConfig


def _weights_dtype(name: str):
    """The dtype the model trains in (``models.dtypes``: 'auto' is float32 master weights)."""
    from musebench.models.dtypes import resolve_dtype

    return resolve_dtype(name, use="training")


def _mixed_precision(args) -> str:
    """The Trainer's mixed precision, as run.json records it."""
    return "bf16" if args.bf16 else "fp16" if args.fp16 else "no"


def _training_arguments(config: UnlearnConfig, checkpoints_dir: Path) -> UnlearnConfig:
    """The config itself as the Trainer's arguments (it is a ``TrainingArguments``), with what the run
    decides filled in: where the Trainer checkpoints go, bf16 when left to the machine (on a bf16-capable
    CUDA GPU), no Hugging Face bar (musebench draws its own), the data order seeded by ``seed``."""
    import dataclasses

    import torch

    bf16 = config.bf16
    if bf16 is None:
        bf16 = (not config.use_cpu and not config.fp16 and torch.cuda.is_available()
                and torch.cuda.is_bf16_supported())
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    use_cpu = config.use_cpu or not (torch.cuda.is_available() or mps)  # said, so pinned memory is not asked for
    args = dataclasses.replace(config, output_dir=str(checkpoints_dir), bf16=bf16, use_cpu=use_cpu,
                               disable_tqdm=config.disable_tqdm or not config.progress,
                               data_seed=config.seed if config.data_seed is None else config.data_seed)
    args._setup_devices  # devices and accelerate's state now, as the Trainer would (a config alone never does)
    return args
