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

    @staticmethod
    def _allocate(states: torch.Tensor, capacity: int) -> torch.Tensor:
        shape = (*states.shape[:-2], max(capacity, states.shape[-2]), states.shape[-1])
        buffer = torch.empty(shape, dtype=states.dtype, device=states.device)
        buffer[..., : states.shape[-2], :].copy_(states)
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
            self._set_buffers(self._allocate(self.keys, capacity), self._allocate(self.values, capacity),
                              self._length)
        self._key_buffer[..., self._length:end, :].copy_(key_states)
        self._value_buffer[..., self._length:end, :].copy_(value_states)
        self._set_buffers(self._key_buffer, self._value_buffer, end)
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._set_buffers(self._key_buffer[indices], self._value_buffer[indices], self._length)

    def batch_repeat_interleave(self, repeats: int) -> None:
        self._set_buffers(self._key_buffer.repeat_interleave(repeats, dim=0),
                          self._value_buffer.repeat_interleave(repeats, dim=0), self._length)

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove > 0:
            raise ValueError("crop takes a negative number of tokens to remove")
        self._set_buffers(self._key_buffer, self._value_buffer, max(0, self._length + tokens_to_remove))

    def reset(self) -> None:
        self._key_buffer = self._value_buffer = None
        self._length = 0
        super().reset()


def preallocate(cache, extra_tokens: int):
    """``cache`` with every plain ``DynamicLayer`` moved into a buffer with room for ``extra_tokens`` more.

    Any other cache (a wrapper's own, legacy tuples, sliding-window layers) is returned untouched.
    """
    layers = getattr(cache, "layers", None)
    if not layers or not all(type(layer) is DynamicLayer and layer.is_initialized for layer in layers):
        return cache
    if any(layer.keys is None or layer.keys.dim() != 4 for layer in layers):
        return cache
    for i, layer in enumerate(layers):
        layers[i] = PreallocatedLayer(layer.keys, layer.values, layer.keys.shape[-2] + extra_tokens)
    return cache
