"""Who's Harry Potter (WHP, Eldan & Russinovich 2023) as MUSE runs it: a logit-level combination of two models.

The fine-tuned model θ_ft (the target trained further on the forget set, :mod:`musebench.unlearn.finetune`)
says which next tokens the forget documents make *more* likely; WHP pushes those down:

    z = z_target − α · ReLU(z_ft − z_target)                         (MUSE §5, "WHP")

Nothing is trained per α, so a WHP "checkpoint" is a small directory holding ``whp.json``
(``{"target": ..., "finetuned": ..., "alpha": ...}``) and :func:`load_whp` rebuilds the combined model.
The combined model follows the evaluation model contract (``docs/architecture.md``): it is called like a
causal LM with a KV cache, and its cache is the pair of the two models' caches (:class:`PairCache`),
opaque to the caller.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from musebench.errors import ConfigError, ModelError
from musebench.io import atomic_directory, atomic_write_json

logger = logging.getLogger(__name__)

WHP_FILE = "whp.json"


def whp_logits(z_target: torch.Tensor, z_finetuned: torch.Tensor, alpha: float) -> torch.Tensor:
    """``z_target − α · ReLU(z_ft − z_target)``, computed in float32 (logits of a bf16 model lose digits)."""
    z_t = z_target.float()
    z_f = z_finetuned.to(device=z_t.device, dtype=torch.float32)
    return z_t - alpha * torch.relu(z_f - z_t)


@dataclass
class WHPOutput:
    """What a causal LM returns, as far as the evaluation contract goes."""

    logits: torch.Tensor
    past_key_values: Any = None  # PairCache(target cache, fine-tuned cache) or None

    @property
    def cache(self):  # transformers >= 5 names the returned cache ``cache``
        return self.past_key_values

    def __getitem__(self, key):  # ``out["logits"]`` works as with a transformers ModelOutput
        return getattr(self, key)


class PairCache:
    """The two models' KV caches, handed to the caller as one opaque object and passed back unchanged.

    It forwards the in-place batch operations of transformers caches to both halves, so a generation loop
    can drop finished rows (``batch_select_indices``) or share a prompt prefix (``batch_repeat_interleave``)
    with WHP as with a plain model. It also unpacks like the pair it is: ``target, finetuned = cache``.
    """

    def __init__(self, target, finetuned):
        self.target = target
        self.finetuned = finetuned

    def __iter__(self):
        return iter((self.target, self.finetuned))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i):
        return (self.target, self.finetuned)[i]

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self.target.batch_select_indices(indices)
        self.finetuned.batch_select_indices(indices)

    def batch_repeat_interleave(self, repeats: int) -> None:
        self.target.batch_repeat_interleave(repeats)
        self.finetuned.batch_repeat_interleave(repeats)

    def get_seq_length(self, *args) -> int:
        return self.target.get_seq_length(*args)


class WHPModel(nn.Module):
    """The target and the fine-tuned model behind one causal-LM call (forward only, no training)."""

    def __init__(self, target: nn.Module, finetuned: nn.Module, alpha: float):
        super().__init__()
        if alpha < 0:
            raise ConfigError("WHP alpha must be >= 0", field="alpha", value=alpha)
        vocab_t = target.get_output_embeddings().weight.shape[0]
        vocab_f = finetuned.get_output_embeddings().weight.shape[0]
        if vocab_t != vocab_f:
            raise ModelError(f"target and fine-tuned model have different vocabularies ({vocab_t} vs {vocab_f})")
        self.target = target
        self.finetuned = finetuned
        self.alpha = float(alpha)
        # transformers 5 renamed the ``past_key_values`` argument to ``cache`` (the old name warns)
        self._cache_arg = "cache" if "cache" in inspect.signature(target.forward).parameters else "past_key_values"

    @property
    def config(self):
        return self.target.config

    @property
    def generation_config(self):
        return self.target.generation_config

    @property
    def device(self) -> torch.device:
        return next(self.target.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.target.parameters()).dtype

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        position_ids=None,
        past_key_values=None,
        use_cache=None,
        cache=None,
        logits_to_keep: int = 0,
        **kwargs,
    ) -> WHPOutput:
        past = past_key_values if past_key_values is not None else cache
        past_target, past_finetuned = past if past is not None else (None, None)
        common = dict(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=use_cache, **kwargs
        )
        if logits_to_keep:  # prefill: only the last positions' logits, of both models
            common["logits_to_keep"] = logits_to_keep
        out_t = self.target(**{self._cache_arg: past_target}, **common)
        out_f = self.finetuned(**{self._cache_arg: past_finetuned}, **common)
        logits = self.combine(out_t.logits, out_f.logits)
        past = PairCache(_returned_cache(out_t), _returned_cache(out_f)) if use_cache else None
        return WHPOutput(logits=logits, past_key_values=past)

    def combine(self, z_target: torch.Tensor, z_other: torch.Tensor) -> torch.Tensor:
        """The two models' logits made one (WHP's formula; ULD's wrapper overrides only this)."""
        return whp_logits(z_target, z_other, self.alpha)


def _returned_cache(output):
    cache = getattr(output, "cache", None)
    return cache if cache is not None else getattr(output, "past_key_values", None)


def _portable_path(path: str | Path, relative_to: Path) -> str:
    """A path relative to the checkpoint directory when it is local (the run directory can then move)."""
    p = Path(path)
    if not p.exists():
        return str(path)  # a hub name: kept as given
    try:
        return os.path.relpath(p.resolve(), relative_to.resolve())
    except ValueError:  # another drive on Windows
        return str(p.resolve())


def write_whp_checkpoint(out_dir: str | Path, target: str | Path, finetuned: str | Path, alpha: float) -> Path:
    """Write one WHP checkpoint directory (``whp.json`` only; the weights stay where they are)."""
    out = Path(out_dir)
    with atomic_directory(out) as tmp:
        atomic_write_json(
            tmp / WHP_FILE,
            {
                "method": "whp",
                "target": _portable_path(target, out),
                "finetuned": _portable_path(finetuned, out),
                "alpha": float(alpha),
            },
        )
    return out


def read_whp_checkpoint(path: str | Path) -> tuple[str, str, float]:
    """``(target, finetuned, alpha)`` of a WHP checkpoint, local paths resolved against its directory."""
    return read_pair_checkpoint(path, WHP_FILE, "WHP", "finetuned")


def read_pair_checkpoint(
    path: str | Path, file_name: str, kind: str, second: str, alpha_field: str | None = None
) -> tuple[str, str, float]:
    """``(target, second model, alpha)`` of a logit-wrapper checkpoint (WHP, ULD): ``file_name`` in ``path``
    names the two models and the strength; local paths are resolved against the checkpoint's directory."""
    path = Path(path)
    spec_file = path / file_name if path.is_dir() else path
    if not spec_file.is_file():
        raise ModelError(f"not a {kind} checkpoint: {file_name} is missing", file=path)
    try:
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelError(f"invalid JSON: {err.msg} (line {err.lineno})", file=spec_file) from err
    if not isinstance(spec, dict):
        raise ModelError("expected a JSON object", file=spec_file, value=type(spec).__name__)
    missing = [f for f in ("target", second, "alpha") if f not in spec]
    if missing:
        raise ModelError(f"missing field(s): {', '.join(missing)}", file=spec_file)
    alpha = spec["alpha"]
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha < 0:
        raise ModelError("alpha must be a number >= 0", file=spec_file, field=alpha_field, value=alpha)

    def resolve(field: str) -> str:
        value = spec[field]
        if not isinstance(value, str) or not value:
            raise ModelError("must be a non-empty path or hub name", file=spec_file, field=field, value=value)
        local = spec_file.parent / value
        if Path(value).is_absolute() or local.exists():
            return str(local)
        return value  # a hub name

    return resolve("target"), resolve(second), float(alpha)


def load_whp(path: str | Path, device: str = "cpu", dtype=None):
    """Load a WHP checkpoint as a :class:`LoadedModel` whose ``.model`` is a :class:`WHPModel`."""
    from musebench.models.loading import LoadedModel
    from musebench.unlearn.edit.finetune import load_target_like

    target_path, finetuned_path, alpha = read_whp_checkpoint(path)
    # the target gets the fine-tuned model's tokenizer (and, for a θ_ft with an extra <pad> row written by an
    # older version, that row), so both models score the same vocabulary
    target, finetuned = load_target_like(target_path, finetuned_path, device=device, dtype=dtype)
    model = WHPModel(target.model, finetuned.model, alpha).eval()
    return LoadedModel(model=model, tokenizer=target.tokenizer, name=str(path))


def run_whp(model_dir, corpus, config, out_dir, forget_split: str = "forget", reference_dir=None, resume: bool = False):
    """Fine-tune on the forget set once (cached), then write one ``alpha-<α>/whp.json`` per α.

    ``reference_dir`` is unused (WHP's "reference" is the target itself); accepted for the common signature.
    """
    from musebench.unlearn.edit.course import run_alpha_edit

    if (Path(model_dir) / WHP_FILE).is_file():
        raise ConfigError(
            "WHP cannot start from a WHP checkpoint (its weights are two models); sequential WHP "
            "requests are not supported, start from a model directory",
            file=model_dir,
        )

    def write_alphas(ft_path, checkpoints) -> None:
        for alpha, ckpt in zip(config.alphas, checkpoints):
            write_whp_checkpoint(ckpt.path, model_dir, ft_path, alpha)

    return run_alpha_edit(model_dir, corpus, config, out_dir, forget_split, resume, write_alphas)
