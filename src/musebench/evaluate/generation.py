"""Batched greedy decoding with left padding and a KV cache, in our own loop.

Why our own loop rather than ``model.generate``: the evaluation contract only promises a forward call, so
an unlearning method's wrapper (e.g. WHP's logit arithmetic) is evaluated exactly like a plain model; and
we stop rows on stop strings without decoding every row at every step.

Exactness: with left padding each row's positions start at 0 at its first real token (``position_ids``
from the attention mask), so in fp32 a row's logits equal its unpadded, batch-1 logits up to float
rounding and greedy argmax gives the same tokens (tested). Finished rows leave the batch when the cache
can be narrowed, else they keep running and their outputs are ignored.

Shared prefix: KnowMem prompts of one split share their few-shot context (~90% of each prompt). Its KV
cache is computed once and repeated for every row; each row's own suffix follows after its left pads:
``[prefix][pads][suffix]``, with the pads masked and the suffix at positions ``len(prefix) + i`` -- the
same attention and positions as the unpadded prompt. The prefix is the longest common prefix of the
*token ids* of the whole prompts, so tokenization is exactly the original's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from musebench.evaluate.kv_buffer import is_plain_cache, preallocate, preallocate_joined
from musebench.evaluate.model_io import (
    ModelCaller,
    left_padded_positions,
    repeat_cache_rows,
    select_cache_rows,
)
from musebench.evaluate.requests import Generation
from musebench.evaluate.stopping import StopMatcher

#: Below this many shared tokens, prefix reuse is not worth a cache copy.
MIN_SHARED_PREFIX = 16


@dataclass
class SharedPrefix:
    ids: list[int]
    cache: object  # batch-1 cache of ``ids``; copied, never modified


def common_prefix_length(rows: list[list[int]]) -> int:
    """Length of the longest common prefix of token-id rows, leaving every row >= 1 token of its own."""
    if len(rows) < 2:
        return 0
    first, limit = rows[0], min(len(r) for r in rows) - 1
    n = 0
    while n < limit and all(r[n] == first[n] for r in rows):
        n += 1
    return n


@torch.inference_mode()
def prefill_prefix(caller: ModelCaller, ids: list[int]) -> SharedPrefix | None:
    """The prefix's cache, or None when the model's cache cannot be repeated along the batch."""
    input_ids = torch.tensor([ids], dtype=torch.long, device=caller.device)
    mask = torch.ones_like(input_ids)
    _, cache = caller(input_ids, mask, left_padded_positions(mask), cache=None, use_cache=True, last_only=True)
    if cache is None or repeat_cache_rows(copy.deepcopy(cache), 1) is None:
        return None
    return SharedPrefix(ids=list(ids), cache=cache)


def eos_ids(model, tokenizer) -> set[int]:
    """EOS ids the original ``generate`` would stop on (generation config), plus the tokenizer's."""
    ids = set()
    config = getattr(model, "generation_config", None)
    eos = getattr(config, "eos_token_id", None)
    if isinstance(eos, int):
        ids.add(eos)
    elif eos:
        ids.update(int(i) for i in eos)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids


def left_pad(rows: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
        mask[i, width - len(r) :] = 1
    return ids.to(device), mask.to(device)


def prefill(caller: ModelCaller, input_ids, mask, positions, cache, extra_tokens: int, part_tokens: int | None = None):
    """The prompts' last-position logits and their cache, with room for ``extra_tokens`` more (decode
    writes in place instead of re-concatenating). With ``part_tokens``, in row parts joined afterwards;
    a cache that cannot be joined means one whole-batch prefill instead."""
    n, width = input_ids.shape
    rows = n if part_tokens is None else max(1, part_tokens // max(width, 1))
    if rows < n and cache is None:
        logits, caches = [], []
        for a in range(0, n, rows):
            part_logits, part_cache = caller(
                input_ids[a : a + rows],
                mask[a : a + rows],
                positions[a : a + rows],
                cache=None,
                use_cache=True,
                last_only=True,
            )
            logits.append(part_logits[:, -1, :])
            caches.append(part_cache)
            if not is_plain_cache(part_cache):
                break  # an opaque cache: it cannot be joined
        else:
            joined = preallocate_joined(caches, extra_tokens)
            return torch.cat(logits), joined
    logits, cache = caller(input_ids, mask, positions, cache=cache, use_cache=True, last_only=True)
    return logits[:, -1, :], preallocate(cache, extra_tokens)


@torch.inference_mode()
def greedy_generate(
    caller: ModelCaller,
    prompts: list[list[int]],
    max_new_tokens: int,
    pad_id: int,
    eos: set[int],
    stop: StopMatcher | None = None,
    prefix: SharedPrefix | None = None,
    prefill_tokens: int | None = None,
) -> list[Generation]:
    """Greedy continuations of token-id ``prompts`` (one batch), ``max_new_tokens`` each at most.

    With ``prefix``, every prompt starts with ``prefix.ids`` and only the rest is run here. With
    ``prefill_tokens``, the prompts are prefilled in row parts of at most that many padded tokens (then
    decoded together): on CPU this keeps each layer's tensors small enough to be reused (``batching``).
    """
    device = caller.device
    if prefix is None:
        input_ids, mask = left_pad(prompts, pad_id, device)
        positions = left_padded_positions(mask)
        cache = None
    else:
        shared = len(prefix.ids)
        input_ids, suffix_mask = left_pad([p[shared:] for p in prompts], pad_id, device)
        positions = shared + left_padded_positions(suffix_mask)
        mask = torch.cat([torch.ones((len(prompts), shared), dtype=suffix_mask.dtype, device=device), suffix_mask], 1)
        cache = repeat_cache_rows(copy.deepcopy(prefix.cache), len(prompts))
    next_logits, cache = prefill(
        caller, input_ids, mask, positions, cache, max_new_tokens, prefill_tokens if prefix is None else None
    )
    last_pos = positions[:, -1]

    n = len(prompts)
    generated: list[list[int]] = [[] for _ in range(n)]
    finish = ["length"] * n
    rows = torch.arange(n, device=device)  # original index of each row still in the batch
    live = torch.ones(n, dtype=torch.bool, device=device)  # rows still generating (masked mode)
    eos_tensor = torch.tensor(sorted(eos), dtype=torch.long, device=device)

    for step in range(max_new_tokens):
        tokens = next_logits.argmax(dim=-1)
        token_list = tokens.tolist()
        is_eos = torch.isin(tokens, eos_tensor).tolist()
        maybe_stop = stop.candidates(tokens).tolist() if stop is not None else [False] * len(token_list)
        row_list = rows.tolist()
        live_list = live.tolist()
        for j, i in enumerate(row_list):
            if not live_list[j]:
                continue
            generated[i].append(token_list[j])
            if is_eos[j]:
                finish[i], live_list[j] = "eos", False
            elif maybe_stop[j] and stop.hit(generated[i]):
                finish[i], live_list[j] = "stop", False
        live = torch.tensor(live_list, dtype=torch.bool, device=device)
        if step == max_new_tokens - 1 or not live.any():
            break
        if not live.all():
            keep = live.nonzero().squeeze(-1)
            narrowed = select_cache_rows(cache, keep)
            if narrowed is not None:
                cache = narrowed
                rows, tokens, mask, last_pos = rows[keep], tokens[keep], mask[keep], last_pos[keep]
                live = live[keep]
        mask = torch.cat([mask, torch.ones((mask.shape[0], 1), dtype=mask.dtype, device=device)], dim=1)
        last_pos = last_pos + 1
        logits, cache = caller(tokens[:, None], mask, last_pos[:, None], cache=cache, use_cache=True)
        next_logits = logits[:, -1, :]
    return [Generation(token_ids=generated[i], finish=finish[i]) for i in range(n)]
