"""How the engine talks to a model: the evaluation model contract, and nothing else.

The model is anything callable as ``model(input_ids=, attention_mask=, position_ids=, <cache>=, use_cache=)``
returning ``.logits`` and a cache object that is passed back untouched (opaque). transformers >= 5 names
the cache argument ``cache`` (``past_key_values`` is its deprecated alias); wrappers written against the
contract name it ``past_key_values``. We look at the forward signature once and use whichever it takes.
"""

from __future__ import annotations

import inspect

import torch


def model_device(model) -> torch.device:
    device = getattr(model, "device", None)
    if device is not None:
        return torch.device(device)
    return next(model.parameters()).device


def left_padded_positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that start at 0 at each row's first real token (pads get 0, they are masked anyway)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


class ModelCaller:
    """Calls a model under the evaluation contract and returns ``(logits, cache)``."""

    def __init__(self, model):
        self.model = model
        try:
            params = set(inspect.signature(model.forward).parameters)
        except (TypeError, ValueError, AttributeError):
            params = set()
        takes_new_name = "cache" in params and "past_key_values" not in params
        self.cache_kwarg = "cache" if takes_new_name else "past_key_values"
        self.can_keep_last_logits = "logits_to_keep" in params
        self.device = model_device(model)

    def __call__(self, input_ids, attention_mask, position_ids, cache=None, use_cache=True, last_only=False):
        kwargs = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "position_ids": position_ids,
            self.cache_kwarg: cache,
            "use_cache": use_cache,
        }
        if last_only and self.can_keep_last_logits:
            kwargs["logits_to_keep"] = 1  # prefill: only the last position's logits are needed
        out = self.model(**kwargs)
        new_cache = getattr(out, "cache", None) if hasattr(out, "cache") else None
        if new_cache is None and use_cache:
            new_cache = (
                out["past_key_values"]
                if isinstance(out, dict) and "past_key_values" in out
                else getattr(out, "past_key_values", None)
            )
        return out.logits, new_cache


def select_cache_rows(cache, keep: torch.Tensor):
    """Keep only batch rows ``keep`` of a KV cache; returns the cache, or None if it cannot be narrowed.

    transformers caches expose ``batch_select_indices``; legacy tuples of (key, value) tensors are indexed
    on dim 0. Any other cache is opaque: the caller keeps finished rows and masks their outputs instead.
    """
    if hasattr(cache, "batch_select_indices"):
        cache.batch_select_indices(keep)
        return cache
    if isinstance(cache, (tuple, list)) and all(isinstance(layer, (tuple, list)) for layer in cache):
        try:
            return type(cache)(type(layer)(t.index_select(0, keep) for t in layer) for layer in cache)
        except (AttributeError, TypeError, RuntimeError):
            return None
    return None


def repeat_cache_rows(cache, repeats: int):
    """A batch-1 cache repeated ``repeats`` times along the batch (in place when the cache allows it)."""
    if hasattr(cache, "batch_repeat_interleave"):
        cache.batch_repeat_interleave(repeats)
        return cache
    if isinstance(cache, (tuple, list)) and all(isinstance(layer, (tuple, list)) for layer in cache):
        try:
            return type(cache)(type(layer)(t.repeat_interleave(repeats, dim=0) for t in layer) for layer in cache)
        except (AttributeError, TypeError, RuntimeError):
            return None
    return None
