"""Percentile bootstrap 95% confidence intervals, deterministic for a seed.

Each group (e.g. forget and holdout scores of an AUC) is resampled with replacement independently, the
statistic recomputed, and the 2.5th / 97.5th percentiles reported. The generator is seeded from the seed
and the score's name, so a CI does not depend on which other scores were computed before it.
"""

from __future__ import annotations

import zlib
from typing import Callable, Sequence

import numpy as np


def bootstrap_ci(statistic: Callable[..., float], groups: Sequence[Sequence[float]], samples: int, seed: int,
                 name: str = "", level: float = 0.95) -> list[float] | None:
    """``[lo, hi]`` of ``statistic(*resampled_groups)``; None when there is nothing to resample."""
    arrays = [np.asarray(g, dtype=np.float64) for g in groups]
    if samples <= 0 or any(len(a) == 0 for a in arrays):
        return None
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    values = np.empty(samples)
    for b in range(samples):
        values[b] = statistic(*(a[rng.integers(0, len(a), len(a))] for a in arrays))
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return [float(lo), float(hi)]
