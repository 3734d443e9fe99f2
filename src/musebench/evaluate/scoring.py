"""Teacher-forced scoring: every per-token statistic the membership attacks need, in one pass.

One batch, one forward through the transformer body, then ONE fused, chunked pass over the vocabulary:
for a chunk of real (unpadded) positions the output head's logits are computed, log-softmaxed in fp32,
the next token's log-prob gathered and, if asked, Min-K%++'s moments
``mu = sum p log p`` and ``sigma^2 = sum p (log p - mu)^2`` (centred: the raw form cancels in fp32 when
the distribution is nearly flat) taken from the same chunk. No [batch, length, vocab] tensor ever
exists: at MUSE's shape (2,048 tokens x 32,000 ids) it would be 262 MB of fp32 per text, times three for
log-softmax and probabilities, and reading it back from memory costs more than computing it.

Models whose logits are not ``head(body(x))`` (a wrapper under the evaluation contract, a soft-capped
head) are called whole; their logits are then reduced with the same chunked pass. Which one applies is
decided once per model by comparing both on a short input (``split_head``).

Rows are right-padded: with causal attention a real token never sees a pad, so positions 0..n-1 are the
unpadded ones. For the same reason the model gets an all-ones attention mask: masking the pads would
change nothing a real token sees (tested), while an all-ones mask lets SDPA run its causal kernel.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import torch

from musebench.evaluate.model_io import ModelCaller
from musebench.evaluate.requests import TokenLogprobs

#: fp32 logits held at once, by device type. On CPU 256 positions x 32,000 ids: wide enough that the head's
#: weight is not re-read for every few rows (measured, 1 thread, 4,096 x 256 x 32,000: 128 GFLOP/s at 256
#: rows, 90 at 64 or 1,024) and small enough to stay in the last-level cache; on a GPU wide enough to keep
#: the matmul efficient. A chunk's log-softmax (and, for moments, its probabilities) live beside it.
CHUNK_BYTES = {"cpu": 32 * 2**20}
DEFAULT_CHUNK_BYTES = 512 * 2**20


def chunk_positions(vocab_size: int, device_type: str) -> int:
    """Positions per chunk so that one chunk of fp32 logits fits ``CHUNK_BYTES``."""
    return max(1, CHUNK_BYTES.get(device_type, DEFAULT_CHUNK_BYTES) // (4 * vocab_size))


def right_pad(rows: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids.to(device), mask.to(device)


def target_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``logits`` [..., V] predicting ``targets`` [...] -> log p(target) [...] fp32 (no moments)."""
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def token_statistics(logits: torch.Tensor, targets: torch.Tensor):
    """``logits`` [..., V] predicting ``targets`` [...] -> (log p(target), mu, sigma), each [...] fp32."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    target_logp = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    p = logp.exp()
    mu = torch.linalg.vecdot(p, logp)
    sigma = torch.linalg.vecdot(p, logp.sub_(mu.unsqueeze(-1)).square_()).sqrt()
    return target_logp, mu, sigma


def chunk_statistics(
    logits: torch.Tensor,
    targets: torch.Tensor,
    moments: bool,
    scratch: torch.Tensor | None = None,
    probs: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """One chunk's [N, V] logits -> [log p(target)] or [log p(target), mu, sigma], each [N] fp32.

    ``log_softmax`` is torch's fused kernel and gives the same bits per row as over the whole tensor. With
    ``scratch`` ([>= N, V] fp32, owned by the caller) the logits are log-softmaxed into it in place, and the
    moments' probabilities go to ``probs`` (the same shape): no chunk-sized tensor is allocated,
    so a 32 MB chunk never goes back to the OS and faults its pages in again (measured, 1 thread: 12 % of
    the head + log-softmax time at 2,048 x 32,000).
    """
    if scratch is None:
        logp = torch.log_softmax(logits.float(), dim=-1)
    else:
        logp = scratch[: logits.shape[0]]
        if logp.data_ptr() != logits.data_ptr():
            logp.copy_(logits)
        torch.log_softmax(logp, dim=-1, out=logp)
    target_logp = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    if not moments:
        return [target_logp]
    p = logp.exp() if probs is None else torch.exp(logp, out=probs[: logp.shape[0]])
    mu = torch.linalg.vecdot(p, logp)
    sigma = torch.linalg.vecdot(p, logp.sub_(mu.unsqueeze(-1)).square_()).sqrt()
    return [target_logp, mu, sigma]


def head_into(head: torch.nn.Module, hidden: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    """``head(hidden)``, written into ``out`` when the head is a plain ``nn.Linear`` (the same kernel as
    ``F.linear``: ``mm`` / ``addmm`` with the transposed weight, so the same bits); else the head's own call."""
    if out is None or type(head) is not torch.nn.Linear or head.weight.dtype != out.dtype:
        return head(hidden)
    out = out[: hidden.shape[0]]
    if head.bias is None:
        return torch.mm(hidden, head.weight.t(), out=out)
    return torch.addmm(head.bias, hidden, head.weight.t(), out=out)


@dataclass
class SplitHead:
    """``model(x).logits == head(body(x).last_hidden_state)``: the body and the head, called apart."""

    body: torch.nn.Module
    head: torch.nn.Module


_SPLIT_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> SplitHead | None


@torch.inference_mode()
def split_head(model) -> SplitHead | None:
    """Body and output head of a plain causal LM, or None when its logits are anything else.

    Checked, not assumed: the model's own logits on a short input must equal ``head(body(x))``, so a
    soft-capped or scaled head, a tied-weight oddity or a logit-arithmetic wrapper falls back to full logits.
    """
    try:
        return _SPLIT_CACHE[model]
    except (KeyError, TypeError):
        pass
    found = None
    body = getattr(model, "base_model", None)
    get_head = getattr(model, "get_output_embeddings", None)
    head = get_head() if callable(get_head) else None
    if isinstance(body, torch.nn.Module) and body is not model and isinstance(head, torch.nn.Linear):
        device = next(model.parameters()).device
        vocab = head.out_features
        ids = torch.arange(3, 11, device=device).remainder(vocab).unsqueeze(0)
        mask = torch.ones_like(ids)
        positions = torch.arange(ids.shape[1], device=device).unsqueeze(0)
        try:
            whole = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False).logits.float()
            hidden = body(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False).last_hidden_state
            parts = head(hidden).float()
            tol = 1e-4 if whole.dtype == torch.float32 and hidden.dtype == torch.float32 else 2e-2
            if whole.shape == parts.shape and torch.allclose(whole, parts, rtol=tol, atol=tol * 10):
                found = SplitHead(body=body, head=head)
        except (TypeError, AttributeError, RuntimeError, ValueError):
            found = None
    try:
        _SPLIT_CACHE[model] = found
    except TypeError:  # not weak-referenceable: checked again next time
        pass
    return found


@torch.inference_mode()
def score_texts(caller: ModelCaller, rows: list[list[int]], pad_id: int, moments: bool = True) -> list[TokenLogprobs]:
    """Per-token log-probs (and, with ``moments``, Min-K%++'s mu / sigma) of each token-id row (>= 1 token)."""
    ids, _ = right_pad(rows, pad_id, caller.device)
    mask = torch.ones_like(ids)  # causal + right padding: pads are only ever seen by pads (module docstring)
    positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0).expand_as(ids)
    # the real positions that predict a next token: row i, columns 0 .. len(row) - 2
    lengths = torch.tensor([len(r) - 1 for r in rows], device=ids.device)
    real = torch.arange(ids.shape[1] - 1, device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)
    targets = ids[:, 1:][real]
    split = split_head(caller.model)
    if split is not None:
        hidden = split.body(
            input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False
        ).last_hidden_state[:, :-1][real]
        vocab = split.head.out_features
    else:
        full, _ = caller(ids, mask, positions, cache=None, use_cache=False)
        vocab = full.shape[-1]
        flat = full[:, :-1][real]  # the pads' logits are never reduced
        del full

    n = len(targets)
    step = min(chunk_positions(vocab, ids.device.type), max(n, 1))
    # one fp32 chunk buffer for the whole call: the head writes into it, log-softmax runs in it in place
    scratch = torch.empty((step, vocab), dtype=torch.float32, device=ids.device)
    probs = torch.empty_like(scratch) if moments else None
    parts = []
    for a in range(0, n, step):
        b = min(a + step, n)
        logits = head_into(split.head, hidden[a:b], scratch) if split is not None else flat[a:b]
        parts.append(chunk_statistics(logits, targets[a:b], moments, scratch, probs))
    del scratch, probs
    stats = [
        torch.cat([p[j] for p in parts]).cpu().numpy() if parts else np.zeros(0, np.float32)
        for j in range(3 if moments else 1)
    ]
    out, start = [], 0
    for r in rows:
        end = start + len(r) - 1
        out.append(TokenLogprobs(*(s[start:end].astype(np.float32) for s in stats)))
        start = end
    return out
