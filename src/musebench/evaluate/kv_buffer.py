"""A pre-allocated KV cache for decoding: each step writes into a buffer instead of re-concatenating.

transformers' ``DynamicLayer`` grows by ``torch.cat``, which copies the whole cache every step (on CPU
the largest single cost of decoding). After the prefill we move each layer's keys / values into a buffer
with room for the decode budget; ``keys`` / ``values`` are views of the filled part, so attention sees
exactly the tensors the dynamic cache would hold (same length, same values, same mask).
"""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicLayer


class PreallocatedLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys / values are the first ``length`` positions of a larger buffer."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, capacity: int):
        super().__init__()
        self.device = keys.device
        self.is_initialized = True
        self._set_buffers(self._allocate(keys, capacity), self._allocate(values, capacity), keys.shape[-2])

    @classmethod
    def joined(cls, keys: list[torch.Tensor], values: list[torch.Tensor], capacity: int) -> PreallocatedLayer:
        """One layer from row parts of equal length, stacked along the batch in this order."""
        layer = cls.__new__(cls)
        DynamicLayer.__init__(layer)
        layer.device = keys[0].device
        layer.is_initialized = True
        layer._set_buffers(cls._allocate(keys, capacity), cls._allocate(values, capacity), keys[0].shape[-2])
        return layer

    @staticmethod
    def _allocate(states: torch.Tensor | list[torch.Tensor], capacity: int) -> torch.Tensor:
        parts = states if isinstance(states, list) else [states]
        first = parts[0]
        shape = (sum(p.shape[0] for p in parts), *first.shape[1:-2], max(capacity, first.shape[-2]), first.shape[-1])
        buffer = torch.empty(shape, dtype=first.dtype, device=first.device)
        row = 0
        for p in parts:
            buffer[row : row + p.shape[0], ..., : p.shape[-2], :].copy_(p)
            row += p.shape[0]
        return buffer

    def _set_buffers(self, key_buffer: torch.Tensor, value_buffer: torch.Tensor, length: int) -> None:
        self._key_buffer, self._value_buffer, self._length = key_buffer, value_buffer, length
        self.keys = key_buffer[..., :length, :]
        self.values = value_buffer[..., :length, :]

    def update(self, key_states, value_states, *args, **kwargs):
        new = key_states.shape[-2]
        end = self._length + new
        if end > self._key_buffer.shape[-2]:  # over budget: grow by doubling (never on the normal path)
            capacity = 2 * end
            self._set_buffers(self._allocate(self.keys, capacity), self._allocate(self.values, capacity), self._length)
        self._key_buffer[..., self._length : end, :].copy_(key_states)
        self._value_buffer[..., self._length : end, :].copy_(value_states)
        self._set_buffers(self._key_buffer, self._value_buffer, end)
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._set_buffers(self._key_buffer[indices], self._value_buffer[indices], self._length)

    def batch_repeat_interleave(self, repeats: int) -> None:
        self._set_buffers(
            self._key_buffer.repeat_interleave(repeats, dim=0),
            self._value_buffer.repeat_interleave(repeats, dim=0),
            self._length,
        )

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove > 0:
            raise ValueError("crop takes a negative number of tokens to remove")
        self._set_buffers(self._key_buffer, self._value_buffer, max(0, self._length + tokens_to_remove))

    def reset(self) -> None:
        self._key_buffer = self._value_buffer = None
        self._length = 0
        super().reset()


def is_plain_cache(cache) -> bool:
    """Whether every layer of ``cache`` is an initialised, 4-D ``DynamicLayer`` (the kind we can buffer)."""
    layers = getattr(cache, "layers", None)
    return bool(layers) and all(
        type(layer) is DynamicLayer and layer.is_initialized and layer.keys is not None and layer.keys.dim() == 4
        for layer in layers
    )


def preallocate_joined(caches: list, extra_tokens: int):
    """The caches of row parts of one batch (same padded width), joined along the batch into one
    preallocated cache with room for ``extra_tokens``; None when any is not plain ``DynamicLayer`` s."""
    if not caches or not all(is_plain_cache(c) for c in caches) or len({len(c.layers) for c in caches}) != 1:
        return None
    joined = caches[0]
    for i in range(len(joined.layers)):
        keys = [c.layers[i].keys for c in caches]
        values = [c.layers[i].values for c in caches]
        joined.layers[i] = PreallocatedLayer.joined(keys, values, keys[0].shape[-2] + extra_tokens)
    return joined


def preallocate(cache, extra_tokens: int):
    """``cache`` with every plain ``DynamicLayer`` moved into a buffer with room for ``extra_tokens`` more.

    Any other cache (a wrapper's own, legacy tuples, sliding-window layers) is returned untouched.
    """
    if not is_plain_cache(cache):
        return cache
    layers = cache.layers
    for i, layer in enumerate(layers):
        layers[i] = PreallocatedLayer(layer.keys, layer.values, layer.keys.shape[-2] + extra_tokens)
    return cache
