"""One percentile bootstrap for every confidence interval (evaluation, PrivLeak, C7 ratios, the audit).

Each group is a tuple of aligned arrays (the same texts under one or more models) drawn with one set of row
indices, so paired measurements stay paired; groups are drawn independently (forget and holdout texts).
Rows may be labelled with clusters (texts of one person), which are then drawn whole. The generator is
seeded from the seed and the score's name, so a CI does not depend on which other scores came before it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np


def bootstrap_ci(
    statistic: Callable[..., float],
    groups: Sequence[Sequence[Sequence[float]]],
    samples: int,
    seed: int,
    name: str = "",
    level: float = 0.95,
    clusters: Sequence[Sequence | None] | None = None,
    batched: Callable[..., np.ndarray] | None = None,
    min_finite: int = 1,
) -> list[float] | None:
    """``[lo, hi]``: the central ``level`` percentile interval of ``statistic(*arrays)`` over ``samples``
    resamples, ``arrays`` being every group's arrays in order; None when there is nothing to resample or
    fewer than ``min_finite`` resamples give a finite value.

    ``clusters[g]`` (optional) labels group g's rows so whole clusters are drawn. ``batched``, when given,
    computes the statistic for all resamples at once from ``[samples, n]`` arrays and must equal ``statistic``
    row by row; it draws each group's resamples at once, group by group, where the loop draws resample by
    resample: the same draws for one group (numpy's generator yields the same stream either way), other draws
    for several. With clusters the loop is used (their draws vary in length).
    """
    groups = [[np.asarray(a, dtype=np.float64) for a in g] for g in groups]
    if samples <= 0 or any(len(g[0]) == 0 or any(len(a) != len(g[0]) for a in g) for g in groups):
        return None
    clusters = list(clusters) if clusters is not None else [None] * len(groups)
    if any(c is not None for c in clusters):
        batched = None  # whole units are drawn, and their draws vary in length: resample by resample
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    with np.errstate(divide="ignore", invalid="ignore"):  # a ratio's undefined resamples are dropped below
        if batched is not None:  # each group's resamples in one draw, group by group
            draws = [rng.integers(0, len(g[0]), (samples, len(g[0]))) for g in groups]
            values = batched(*(a[idx] for g, idx in zip(groups, draws) for a in g))
        else:  # resample by resample, group by group
            values = []
            for _ in range(samples):
                draws = [resample_indices(rng, len(g[0]), labels) for g, labels in zip(groups, clusters)]
                values.append(statistic(*(a[idx] for g, idx in zip(groups, draws) for a in g)))
    return percentile_interval(np.asarray(values, dtype=np.float64), level, min_finite)


def paired_difference_ci(
    a: Sequence[float],
    b: Sequence[float],
    clusters: Sequence | None = None,
    samples: int = 2000,
    seed: int = 0,
    name: str = "paired_difference",
) -> list[float] | None:
    """95 % CI of mean(a) - mean(b) for two models' scores on the same items in the same order (e.g. target and
    retrain KnowMem-r per question), the pairs drawn together and, with ``clusters``, whole people at a time.
    None when the lists are empty or of different lengths."""
    if len(a) != len(b) or not len(a):
        return None
    return bootstrap_ci(
        lambda x, y: float(np.mean(x) - np.mean(y)), [(a, b)], samples, seed, name=name, clusters=[clusters]
    )


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


def percentile_interval(values: np.ndarray, level: float, min_finite: int = 1) -> list[float] | None:
    """``[lo, hi]``: the central ``level`` percentile interval of the finite values (None if fewer than
    ``min_finite`` of them)."""
    values = values[np.isfinite(values)]
    if len(values) < max(min_finite, 1):
        return None
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return [float(lo), float(hi)]
