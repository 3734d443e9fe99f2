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
                 batched: Callable[..., np.ndarray] | None = None,
                 clusters: Sequence[Sequence | None] | None = None) -> list[float] | None:
    """``[lo, hi]`` of ``statistic(*resampled_groups)``; None when there is nothing to resample.

    ``batched``, when given, computes the same statistic for all resamples at once from ``[samples, n]``
    arrays (one per group) and must equal ``statistic`` row by row; the draws are the same either way.
    ``clusters[g]`` (optional) labels group g's rows with their unit (a person): whole units are drawn.
    """
    arrays = [np.asarray(g, dtype=np.float64) for g in groups]
    if samples <= 0 or any(len(a) == 0 for a in arrays):
        return None
    if clusters is not None and any(c is not None for c in clusters):
        return paired_bootstrap_ci(statistic, [(a,) for a in arrays], samples, seed, name, level, clusters)
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
    return percentile_interval(values, level)


def resample_indices(rng: np.random.Generator, n: int, clusters: Sequence | None = None) -> np.ndarray:
    """One bootstrap draw of ``n`` row indices; with ``clusters`` (a label per row), whole clusters are drawn.

    Rows of one cluster (texts about one person, chunks of one document) are not independent: resampling
    rows as if they were makes an interval too narrow. Drawing clusters with replacement keeps their rows
    together (the cluster bootstrap); the number of rows then varies from draw to draw.
    """
    if clusters is None:
        return rng.integers(0, n, n)
    members: dict = {}
    for i, c in enumerate(clusters):
        members.setdefault(c, []).append(i)
    units = list(members.values())
    picked = rng.integers(0, len(units), len(units))
    return np.concatenate([np.asarray(units[u], dtype=np.int64) for u in picked])


def paired_bootstrap_ci(statistic: Callable[..., float], groups: Sequence[Sequence[Sequence[float]]],
                        samples: int, seed: int, name: str = "", level: float = 0.95,
                        clusters: Sequence[Sequence | None] | None = None) -> list[float] | None:
    """``[lo, hi]`` of ``statistic(*arrays)``: each group is a tuple of aligned arrays (the same texts under
    two models) drawn with one set of indices; groups are drawn independently; ``clusters[g]`` (optional)
    labels group g's rows so that whole clusters are drawn. Seeded by ``seed`` and ``name``."""
    groups = [[np.asarray(a, dtype=np.float64) for a in g] for g in groups]
    if samples <= 0 or any(len(g[0]) == 0 or any(len(a) != len(g[0]) for a in g) for g in groups):
        return None
    clusters = list(clusters) if clusters is not None else [None] * len(groups)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    values = np.empty(samples, dtype=np.float64)
    for b in range(samples):
        args = []
        for g, labels in zip(groups, clusters):
            idx = resample_indices(rng, len(g[0]), labels)
            args += [a[idx] for a in g]
        values[b] = statistic(*args)
    return percentile_interval(values, level)


def percentile_interval(values: np.ndarray, level: float) -> list[float] | None:
    """``[lo, hi]``: the central ``level`` percentile interval of the finite bootstrap values (None if none)."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return [float(lo), float(hi)]
