"""The one bootstrap: pairing, clusters, ratios with undefined resamples, and the C7 ratio on top of it."""

from __future__ import annotations

import numpy as np

from musebench.evaluate.bootstrap import bootstrap_ci
from musebench.robustness.recovery import bootstrap_ratio


def test_aligned_arrays_are_drawn_together():
    a = np.arange(20, dtype=float)
    paired = bootstrap_ci(lambda x, y: float(np.mean(x - y)), [(a + 3, a)], samples=200, seed=0)
    assert paired == [3.0, 3.0]  # the same rows under both: the difference never varies
    apart = bootstrap_ci(lambda x, y: float(np.mean(x - y)), [(a + 3,), (a,)], samples=200, seed=0)
    assert apart[0] < 3.0 < apart[1]  # drawn independently, the rows no longer cancel


def test_clusters_are_drawn_whole():
    values = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    seen = set()
    for seed in range(20):
        lo, hi = bootstrap_ci(
            lambda x: float(np.mean(x)),
            [(values,)],
            samples=50,
            seed=seed,
            level=0.999,
            clusters=[["a", "a", "a", "b", "b", "b"]],
        )
        seen |= {lo, hi}
    assert seen <= {0.0, 0.5, 1.0}  # two clusters of three: only whole-cluster means can come out
    # a batched statistic is not used with clusters: the loop draws whole units
    looped = bootstrap_ci(np.mean, [(values,)], 10, 0, clusters=[[0, 0, 1, 1, 2, 2]])
    assert (
        bootstrap_ci(np.mean, [(values,)], 10, 0, clusters=[[0, 0, 1, 1, 2, 2]], batched=lambda x: x.mean(axis=1))
        == looped
    )


def test_too_few_finite_resamples_give_no_interval():
    ratio = [(np.array([1.0, 0.0, 0.0, 0.0]),)]
    assert bootstrap_ci(lambda x: 1 / x.mean() if x.mean() else np.nan, ratio, 200, 0, min_finite=200) is None
    assert bootstrap_ci(lambda x: 1 / x.mean() if x.mean() else np.nan, ratio, 200, 0) is not None
    assert bootstrap_ci(np.mean, [([1.0, 2.0], [1.0])], 10, 0) is None  # misaligned arrays


def test_recovery_ratio_ci_is_the_same_bootstrap_vectorised():
    rng = np.random.default_rng(3)
    t, u, a = rng.uniform(40, 80, 30), rng.uniform(0, 30, 30), rng.uniform(10, 50, 30)

    def ratio(A, U, T):
        return (A - U) / (T - U)

    ci = bootstrap_ratio(ratio, [{"A": a, "U": u, "T": t}], samples=300, seed=1, name="q")
    loop = bootstrap_ci(lambda x, y, z: ratio(x.mean(), y.mean(), z.mean()), [(a, u, t)], 300, 1, "q")
    assert ci == [round(loop[0], 4), round(loop[1], 4)]


def test_batched_draws_each_group_at_once():
    """The vectorised path draws group by group (C7's ratios have always been drawn so)."""
    import zlib

    x, y = np.arange(7.0), np.arange(5.0) * 3

    def diff(a, b):
        return a.mean(axis=-1) - b.mean(axis=-1)

    ci = bootstrap_ci(diff, [(x,), (y,)], samples=50, seed=2, name="d", batched=diff)
    rng = np.random.default_rng([2, zlib.crc32(b"d")])
    first, second = rng.integers(0, 7, (50, 7)), rng.integers(0, 5, (50, 5))
    assert ci == list(np.percentile(diff(x[first], y[second]), [2.5, 97.5]))
