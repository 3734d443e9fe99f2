"""Percentile bootstrap 95% confidence intervals, deterministic for a seed.

Each group (e.g. forget and holdout scores of an AUC) is resampled with replacement independently, the
statistic recomputed, and the 2.5th / 97.5th percentiles reported. The generator is seeded from the seed
and the score's name, so a CI does not depend on which other scores were computed before it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np


def bootstrap_ci(statistic: Callable[..., float], groups: Sequence[Sequence[float]], samples: int, seed: int,
                 name: str = "", level: float = 0.95,
                 batched: Callable[..., np.ndarray] | None = None) -> list[float] | None:
    """``[lo, hi]`` of ``statistic(*resampled_groups)``; None when there is nothing to resample.

    ``batched``, when given, computes the same statistic for all resamples at once from ``[samples, n]``
    arrays (one per group) and must equal ``statistic`` row by row; the draws are the same either way.
    """
    arrays = [np.asarray(g, dtype=np.float64) for g in groups]
    if samples <= 0 or any(len(a) == 0 for a in arrays):
        return None
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    draws = [np.empty((samples, len(a)), dtype=np.int64) for a in arrays]
    for b in range(samples):  # group by group within a resample: the order the draws always had
        for a, d in zip(arrays, draws):
            d[b] = rng.integers(0, len(a), len(a))
    if batched is not None:
        values = np.asarray(batched(*(a[d] for a, d in zip(arrays, draws))), dtype=np.float64)
    else:
        values = np.array([statistic(*(a[d[b]] for a, d in zip(arrays, draws))) for b in range(samples)],
                          dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return [float(lo), float(hi)]
