"""Teacher-forced scoring: every per-token statistic the membership attacks need, in one forward pass.

One batch, one forward, one ``log_softmax`` in fp32 and ONE ``gather`` for all next-token log-probs;
the Min-K%++ moments ``mu = sum p log p`` and ``sigma^2 = sum p (log p)^2 - mu^2`` (computed as
``sum p (log p - mu)^2``) come from the same log-softmax. Rows are right-padded: with causal attention a real
token never sees a pad, so positions 0..n-1 are the unpadded ones. For the same reason the model gets an
all-ones attention mask: masking the pads would change nothing a real token sees (tested: bit-identical
log-probs), while an all-ones mask lets SDPA run its causal kernel instead of a materialised 4-D mask.
"""

from __future__ import annotations

import numpy as np
import torch

from musebench.evaluate.model_io import ModelCaller
from musebench.evaluate.requests import TokenLogprobs


def right_pad(rows: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids.to(device), mask.to(device)


def target_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``logits`` [B, T, V] predicting ``targets`` [B, T] -> log p(target) [B, T] fp32 (no moments)."""
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def token_statistics(logits: torch.Tensor, targets: torch.Tensor):
    """``logits`` [B, T, V] predicting ``targets`` [B, T] -> (log p(target), mu, sigma), each [B, T] fp32."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    target_logp = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    p = logp.exp()
    mu = torch.linalg.vecdot(p, logp)
    # sigma^2 = sum p (log p)^2 - mu^2, computed centred: the raw form cancels catastrophically in fp32 when
    # the distribution is nearly flat (sigma << |mu|). In place: logp is not needed any more.
    sigma = torch.linalg.vecdot(p, logp.sub_(mu.unsqueeze(-1)).square_()).sqrt()
    return target_logp, mu, sigma


@torch.inference_mode()
def score_texts(caller: ModelCaller, rows: list[list[int]], pad_id: int,
                moments: bool = True) -> list[TokenLogprobs]:
    """Per-token log-probs (and, with ``moments``, Min-K%++'s mu / sigma) of each token-id row (>= 1 token)."""
    ids, _ = right_pad(rows, pad_id, caller.device)
    mask = torch.ones_like(ids)  # causal + right padding: pads are only ever seen by pads (module docstring)
    positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0).expand_as(ids)
    logits, _ = caller(ids, mask, positions, cache=None, use_cache=False)
    if moments:
        stats = torch.stack(token_statistics(logits[:, :-1, :], ids[:, 1:])).cpu().numpy()
    else:
        stats = target_logprobs(logits[:, :-1, :], ids[:, 1:]).unsqueeze(0).cpu().numpy()
    # one row per statistic computed: (log p) or (log p, mu, sigma); absent moments stay None
    return [TokenLogprobs(*(stat[i, : len(r) - 1].astype(np.float32) for stat in stats))
            for i, r in enumerate(rows)]
