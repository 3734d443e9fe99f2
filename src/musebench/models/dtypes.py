"""The one vocabulary of weight dtypes, and what ``auto`` means for each use.

Every layer that takes a dtype name (``--dtype``, the experiment's ``dtype``, ``UnlearnConfig.dtype``)
checks it against ``DTYPE_NAMES`` and turns it into a torch dtype with :func:`resolve_dtype`. ``auto``
depends on what the weights are for, and only here:

- ``inference`` (evaluation, attacks, audits): bfloat16 on CUDA, float32 elsewhere;
- ``training`` (unlearning, fine-tuning): float32 master weights, with bf16 mixed precision on a capable GPU
  (``UnlearnConfig.bf16``), so small updates are not rounded away;
- ``edit`` (Task Vector / WHP α models): each checkpoint's stored dtype (``"auto"`` to ``from_pretrained``):
  the MUSE targets are bf16 on disk, so an α model is 13 GB, not 27.
"""

from __future__ import annotations

DTYPE_NAMES = ("auto", "float32", "bfloat16", "float16")
USES = ("inference", "training", "edit")


def torch_dtype(name: str):
    """The torch dtype of an explicit name (not ``auto``)."""
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def resolve_dtype(name: str, device: str = "cpu", use: str = "inference"):
    """``name`` (one of ``DTYPE_NAMES``) for weights on ``device`` used for ``use`` (one of ``USES``)."""
    if name not in DTYPE_NAMES:
        from musebench.errors import ConfigError

        raise ConfigError(f"expected one of {', '.join(DTYPE_NAMES)}", field="dtype", value=name)
    if use not in USES:
        raise ValueError(f"unknown dtype use {use!r}; expected one of {USES}")
    if name != "auto":
        return torch_dtype(name)
    if use == "edit":
        return "auto"
    if use == "inference" and str(device).startswith("cuda"):
        return torch_dtype("bfloat16")
    return torch_dtype("float32")
