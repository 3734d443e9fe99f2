"""Batch plans: requests sorted by length (longest first, so memory trouble shows at once), then cut into
batches that fit a memory budget, or into fixed-size batches when ``batch_size`` is given.

The budget is a share of the device's *free* memory when the run starts (``torch.cuda.mem_get_info`` on a
GPU, ``MemAvailable`` on CPU), unless ``memory_budget_gb`` fixes it. What a batch costs comes from the
model's shape: per token, the activations of one layer (hidden states, attention projections with grouped
KV heads, the MLP's intermediate) and, for generation, the KV cache of every layer; per batch, the one chunk
of fp32 logits the fused scoring pass holds (``scoring.chunk_positions``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: Fewer rows than this never speed a CPU batch up further, and keep progress bars moving.
MAX_ROWS = 64
#: Decoding: each step is a batch of one-token matmuls, so wider batches amortise the per-step cost. Measured
#: with 1 thread on the mini model (75 VerbMem prompts x 64 tokens): 16 rows 1.9 s, 64 (+11) 1.4 s, 75 1.2 s.
GENERATION_MAX_ROWS = 128
#: Scoring on CPU: a few rows keep each layer's activations in cache; the logits are chunked anyway.
CPU_SCORING_ROWS = 8
#: Scoring on CPU: the largest tensor one layer allocates (tokens x MLP width) stays at or under glibc's
#: largest heap-served request (32 MiB): bigger ones are fresh ``mmap`` s whose pages fault in again in every
#: layer. Measured (1 thread, 2,048-token texts, 32k vocabulary): 8 rows per batch faulted ~170k pages per
#: text and cost 0.73 CPU s per text; 4 rows, none, 0.48 s.
CPU_LAYER_TENSOR_BYTES = 32 * 2**20
#: Share of the free memory a batch may use (the rest: allocator slack, other processes, the caller's data).
FREE_MEMORY_SHARE = {"cpu": 0.5, "cuda": 0.85}
DEFAULT_FREE_MEMORY_SHARE = 0.5


def free_memory_bytes(device: torch.device) -> int | None:
    """Bytes free on ``device`` now, or None when it cannot be told."""
    try:
        if device.type == "cuda":
            return int(torch.cuda.mem_get_info(device)[0])
        if device.type == "mps":
            return int(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, RuntimeError, AttributeError, ValueError, IndexError):
        return None
    return None


def memory_budget_bytes(device: torch.device, fixed_gb: float | None) -> float:
    """``fixed_gb`` when given, else a share of the device's free memory (2 GB if that is unknown)."""
    if fixed_gb is not None:
        return fixed_gb * 1e9
    free = free_memory_bytes(device)
    if free is None:
        return 2e9
    return free * FREE_MEMORY_SHARE.get(device.type, DEFAULT_FREE_MEMORY_SHARE)


@dataclass(frozen=True)
class ModelShape:
    vocab_size: int
    hidden_size: int
    num_layers: int
    dtype_bytes: int
    intermediate_size: int = 0
    kv_size: int = 0  # num_key_value_heads x head_dim (= hidden_size without grouped-query attention)

    @classmethod
    def of(cls, model, tokenizer) -> ModelShape:
        config = getattr(model, "config", None)
        hidden = getattr(config, "hidden_size", None) or 4096
        layers = getattr(config, "num_hidden_layers", None) or 32
        heads = getattr(config, "num_attention_heads", None) or 1
        kv_heads = getattr(config, "num_key_value_heads", None) or heads
        head_dim = getattr(config, "head_dim", None) or hidden // heads
        intermediate = getattr(config, "intermediate_size", None) or 4 * hidden
        vocab = max(getattr(config, "vocab_size", 0) or 0, len(tokenizer))
        try:
            dtype_bytes = next(model.parameters()).element_size()
        except (StopIteration, AttributeError, TypeError):
            dtype_bytes = 4
        return cls(
            vocab_size=vocab,
            hidden_size=hidden,
            num_layers=layers,
            dtype_bytes=dtype_bytes,
            intermediate_size=intermediate,
            kv_size=kv_heads * head_dim,
        )

    def activation_bytes_per_token(self) -> int:
        """One layer's live tensors per token: residual + norm + q/k/v/out + the MLP's gate, up and product."""
        hidden, kv = self.hidden_size, self.kv_size or self.hidden_size
        return (4 * hidden + 2 * kv + 3 * self.intermediate_size) * self.dtype_bytes

    def scoring_bytes_per_token(self, whole_logits: bool = False) -> int:
        """The hidden state kept for the head and one layer's activations; plus the model's own logits
        when it has to be called whole (a wrapper, ``scoring.split_head`` is None)."""
        logits = self.vocab_size * max(self.dtype_bytes, 4) if whole_logits else 0
        return self.hidden_size * self.dtype_bytes + self.activation_bytes_per_token() + logits

    def scoring_bytes_per_batch(self, chunk_rows: int) -> int:
        return 3 * chunk_rows * self.vocab_size * 4  # a chunk of fp32 logits, its probabilities, scratch

    def cpu_batch_tokens(self) -> int:
        """Tokens per CPU forward (a scoring batch, a prefill part) whose widest layer tensor fits
        ``CPU_LAYER_TENSOR_BYTES``."""
        widest = max(self.intermediate_size, self.hidden_size) * self.dtype_bytes
        return max(1, CPU_LAYER_TENSOR_BYTES // widest)

    def generation_bytes_per_token(self) -> int:
        kv_cache = 2 * self.num_layers * (self.kv_size or self.hidden_size) * self.dtype_bytes
        return kv_cache + self.activation_bytes_per_token()

    def generation_bytes_per_row(self) -> int:
        return 3 * self.vocab_size * 4  # last-position logits and argmax scratch


def plan_batches(
    lengths: list[int],
    *,
    batch_size: int | None,
    budget_bytes: float,
    bytes_per_token: int,
    bytes_per_row: int = 0,
    max_rows: int = MAX_ROWS,
    bytes_per_batch: int = 0,
    max_tokens: int | None = None,
) -> list[list[int]]:
    """Indices of ``lengths`` grouped into batches, longest first; each batch fits the budget (and, with
    ``max_tokens``, holds at most that many padded tokens, unless one row alone is wider)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current:
            width = lengths[current[0]]  # the longest row sets the padded width
            rows = len(current) + 1
            if batch_size is not None:
                full = rows > batch_size
            else:
                cost = bytes_per_batch + rows * (width * bytes_per_token + bytes_per_row)
                full = rows > max_rows or cost > budget_bytes or (max_tokens is not None and rows * width > max_tokens)
            if full:
                batches.append(current)
                current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
