"""Refuse to score what cannot be scored: non-finite logits, inputs longer than the model's context.

A model with NaN weights greedy-decodes garbage whose ROUGE is 0 and whose answers are wrong: it would read as
perfect forgetting. A prompt longer than the positions the model was trained on is decoded without a word
of warning and scores noise. Both are ``ModelError``s, raised from the one place every forward pass goes
through (``GuardedCaller``) and from the runner before a batch is planned (``check_lengths``).
"""

from __future__ import annotations

import torch

from musebench.errors import ModelError
from musebench.evaluate.model_io import ModelCaller

#: Config attributes that hold a model's context length, by architecture family.
CONTEXT_FIELDS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx")


def context_length(model) -> int | None:
    """The number of positions the model was built for (None when its config does not say)."""
    config = getattr(model, "config", None)
    for name in CONTEXT_FIELDS:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


#: Module names of learned absolute position tables (GPT-2 ``wpe``, OPT ``embed_positions``, BERT-style).
LEARNED_POSITION_NAMES = ("wpe", "embed_positions", "position_embeddings")


def has_learned_positions(model) -> bool:
    """True when positions index a learned table: such a model cannot read past its context at all.

    Rotary / ALiBi models (Llama, Mistral, Qwen2, Gemma, Phi-3) compute any position, and MUSE scores privacy
    texts whole on them, as the original does; a learned table would fail with an index error instead.
    """
    return any(
        isinstance(module, torch.nn.Embedding) and name.rsplit(".", 1)[-1] in LEARNED_POSITION_NAMES
        for name, module in model.named_modules()
    )


def check_finite(logits: torch.Tensor, attention_mask: torch.Tensor | None = None) -> None:
    """Raise when any real (unmasked) position has a NaN or infinite logit.

    One float32 sum per position (NaN and Inf survive a sum), so no vocabulary-sized boolean is made.
    """
    per_position = logits.sum(dim=-1, dtype=torch.float32)
    if attention_mask is not None and attention_mask.shape == per_position.shape:
        per_position = per_position[attention_mask.bool()]
    if not bool(torch.isfinite(per_position).all()):
        raise ModelError(
            "the model produced non-finite logits (NaN/Inf); its weights or dtype are broken, so "
            "no score is written (try --dtype float32, or check the checkpoint)",
            field="logits",
        )


class GuardedCaller(ModelCaller):
    """``ModelCaller`` whose every forward pass is checked by ``check_finite``."""

    def __call__(self, input_ids, attention_mask, position_ids, cache=None, use_cache=True, last_only=False):
        logits, new_cache = super().__call__(
            input_ids, attention_mask, position_ids, cache=cache, use_cache=use_cache, last_only=last_only
        )
        check_finite(logits, attention_mask)
        return logits, new_cache


def check_lengths(lengths: list[int], context: int | None, group: str, what: str) -> None:
    """Raise when a request needs more positions than the model has (``what`` says what was counted)."""
    if context is None or not lengths:
        return
    longest = max(lengths)
    if longest > context:
        over = sum(n > context for n in lengths)
        raise ModelError(
            f"{over} request(s) need more positions than the model's context of {context} "
            f"(longest {longest} tokens: {what}); shorten them or lower the budget with --set",
            field=group,
            value=longest,
        )
