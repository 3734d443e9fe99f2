"""The audit's tests on per-document values, resampling the unit of independence (a person, a source).

Documents about one person share names, facts and phrasing: they are not independent draws, and an
interval that resamples documents as if they were is too narrow (a model that never saw the documents was
called a leak). Every test here works on *units*: a unit is a group label when the documents carry one
(``DocumentSet.groups``), else the document itself.

- ``two_sample``: forget documents against never-seen ones. The p-values come from a **permutation test**
  that reassigns whole units between the two sides (exact in distribution under "never seen": the sides are
  exchangeable), so false alarms stay at their level even with 5 documents a side. The CIs come from a
  cluster bootstrap (units redrawn within each side).
- ``paired``: the same documents under two models (the audited one and a reference): a sign-flip test on
  the per-unit sums of differences, and a cluster bootstrap CI.

Each result carries a one-sided p-value for "higher than never seen" (a leak) and for "lower" (below
unseen), the 95 % CI and the 90 % CI an equivalence test (TOST) reads.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Side:
    """Per-document values of one side with their unit labels (equal labels = one unit)."""

    values: np.ndarray
    units: np.ndarray  # integer codes

    @classmethod
    def of(cls, values: Sequence[float], labels: Sequence | None = None, prefix: str = "") -> Side:
        values = np.asarray(values, dtype=np.float64)
        labels = list(range(len(values))) if labels is None else list(labels)
        codes = {lab: i for i, lab in enumerate(dict.fromkeys(labels))}
        return cls(values, np.asarray([codes[lab] for lab in labels], dtype=np.int64))

    @property
    def n_units(self) -> int:
        return len(np.unique(self.units)) if len(self.units) else 0

    def members(self) -> list[np.ndarray]:
        return [np.flatnonzero(self.units == u) for u in np.unique(self.units)]


@dataclass(frozen=True)
class TestResult:
    observed: float
    p_higher: float  # one-sided: the forget side is higher (more memorised) than never seen
    p_lower: float
    ci95: list[float] | None
    ci90: list[float] | None
    n_units: tuple[int, int]
    min_p: float = 0.0  # the smallest p-value this test can reach with its units (and resamples)

    def to_dict(self) -> dict:
        return {
            "observed": self.observed,
            "p_higher": self.p_higher,
            "p_lower": self.p_lower,
            "ci95": self.ci95,
            "ci90": self.ci90,
            "units": list(self.n_units),
            "min_p": self.min_p,
        }


def _rng(seed: int, name: str, what: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(f"{name}:{what}".encode())])


def _percentiles(values: np.ndarray) -> tuple[list[float] | None, list[float] | None]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None, None
    lo95, lo90, hi90, hi95 = np.percentile(values, [2.5, 5, 95, 97.5])
    return [float(lo95), float(hi95)], [float(lo90), float(hi90)]


def _p(observed: float, null: np.ndarray) -> tuple[float, float]:
    null = null[np.isfinite(null)]
    eps = 1e-12 * max(1.0, abs(observed))
    higher = (1 + np.sum(null >= observed - eps)) / (1 + len(null))
    lower = (1 + np.sum(null <= observed + eps)) / (1 + len(null))
    return float(higher), float(lower)


def two_sample(
    stat: Callable[[np.ndarray, np.ndarray], float] | None,
    forget: Side,
    unseen: Side,
    samples: int,
    seed: int,
    name: str,
) -> TestResult:
    """``stat(forget_values, unseen_values)`` (positive = forget higher), tested by permuting units;
    ``stat=None`` is the difference of the means, computed for all resamples at once (same draws)."""
    if stat is None:
        return _two_sample_means(forget, unseen, samples, seed, name)
    observed = float(stat(forget.values, unseen.values))
    f_members, h_members = forget.members(), unseen.members()
    pooled = f_members + [m + len(forget.values) for m in h_members]
    values = np.concatenate([forget.values, unseen.values])
    k = len(f_members)
    rng = _rng(seed, name, "permutation")
    null = np.empty(samples)
    for b in range(samples):
        order = rng.permutation(len(pooled))
        f_idx = np.concatenate([pooled[i] for i in order[:k]])
        h_idx = np.concatenate([pooled[i] for i in order[k:]])
        null[b] = stat(values[f_idx], values[h_idx])
    p_higher, p_lower = _p(observed, null)
    rng = _rng(seed, name, "bootstrap")
    boot = np.empty(samples)
    for b in range(samples):
        f_idx = np.concatenate([f_members[i] for i in rng.integers(0, len(f_members), len(f_members))])
        h_idx = np.concatenate([h_members[i] for i in rng.integers(0, len(h_members), len(h_members))])
        boot[b] = stat(forget.values[f_idx], unseen.values[h_idx])
    ci95, ci90 = _percentiles(boot)
    min_p = max(1 / math.comb(len(pooled), k), 1 / (1 + samples))
    return TestResult(observed, p_higher, p_lower, ci95, ci90, (forget.n_units, unseen.n_units), min_p)


def _unit_sums(side: Side) -> tuple[np.ndarray, np.ndarray]:
    members = side.members()
    return (np.array([side.values[m].sum() for m in members]), np.array([len(m) for m in members], dtype=float))


def _counts(rng: np.random.Generator, units: int, samples: int) -> np.ndarray:
    """How often each unit is drawn in each of ``samples`` bootstrap draws of ``units`` units."""
    draws = rng.integers(0, units, (samples, units))
    counts = np.zeros((samples, units))
    np.add.at(counts, (np.repeat(np.arange(samples), units), draws.ravel()), 1.0)
    return counts


def _two_sample_means(forget: Side, unseen: Side, samples: int, seed: int, name: str) -> TestResult:
    """``two_sample`` for the difference of means, vectorised over resamples (the same null and bootstrap:
    units permuted between the sides; units redrawn within each side)."""
    fs, fc = _unit_sums(forget)
    hs, hc = _unit_sums(unseen)
    observed = float(fs.sum() / fc.sum() - hs.sum() / hc.sum())
    sums, counts = np.concatenate([fs, hs]), np.concatenate([fc, hc])
    k, n = len(fs), len(fs) + len(hs)
    rng = _rng(seed, name, "permutation")
    order = np.argsort(rng.random((samples, n)), axis=1)
    on_forget = np.zeros((samples, n))
    np.put_along_axis(on_forget, order[:, :k], 1.0, axis=1)
    f_sum, f_cnt = on_forget @ sums, on_forget @ counts
    null = f_sum / f_cnt - (sums.sum() - f_sum) / (counts.sum() - f_cnt)
    p_higher, p_lower = _p(observed, null)
    rng = _rng(seed, name, "bootstrap")
    wf, wh = _counts(rng, len(fs), samples), _counts(rng, len(hs), samples)
    boot = (wf @ fs) / (wf @ fc) - (wh @ hs) / (wh @ hc)
    ci95, ci90 = _percentiles(boot)
    min_p = max(1 / math.comb(n, k), 1 / (1 + samples))
    return TestResult(observed, p_higher, p_lower, ci95, ci90, (forget.n_units, unseen.n_units), min_p)


def paired(differences: Side, samples: int, seed: int, name: str) -> TestResult:
    """The mean per-document difference (model - reference), tested by flipping the sign of whole units."""
    d = differences.values
    observed = float(np.mean(d))
    sums = np.array([d[m].sum() for m in differences.members()])
    rng = _rng(seed, name, "signflip")
    signs = rng.choice([-1.0, 1.0], size=(samples, len(sums)))
    null = signs @ sums / len(d)
    p_higher, p_lower = _p(observed, null)
    counts = np.array([len(m) for m in differences.members()], dtype=float)
    w = _counts(_rng(seed, name, "bootstrap"), len(sums), samples)
    boot = (w @ sums) / (w @ counts)
    ci95, ci90 = _percentiles(boot)
    n = differences.n_units
    return TestResult(observed, p_higher, p_lower, ci95, ci90, (n, n), max(0.5**n, 1 / (1 + samples)))


def holm(p_values: Sequence[float], alpha: float, min_p: Sequence[float] | None = None) -> list[bool]:
    """Holm's step-down rejections: family-wise error <= ``alpha`` under any dependence between the tests.

    With ``min_p`` (the smallest p-value each test can reach), Tarone's refinement: the family size is the
    smallest K such that at most K tests can reach alpha / K; the others can never be rejected and are left
    out of the count (a probe measured on 4 + 4 people cannot dilute the tests that have the units).
    """
    m = len(p_values)
    eligible = list(range(m))
    if min_p is not None:
        k = next(k for k in range(1, m + 2) if sum(mp <= alpha / k for mp in min_p) <= k) if m else 0
        m = min(k, m)
        eligible = [i for i in range(len(p_values)) if min_p[i] <= alpha / max(m, 1)]
    order = sorted(eligible, key=lambda i: p_values[i])
    reject = [False] * len(p_values)
    for rank, i in enumerate(order):
        if p_values[i] <= alpha / (m - rank):
            reject[i] = True
        else:
            break
    return reject


def units_needed(n_units: int, ci90: list[float] | None, margin: float, at_least: int = 1) -> int | None:
    """Units a side would need for the 90 % CI of a zero difference to fit within +-``margin`` (the CI's
    half-width shrinks as 1/sqrt(units)), and never fewer than ``at_least``."""
    if ci90 is None or not margin > 0:
        return None
    half = (ci90[1] - ci90[0]) / 2
    return max(at_least, math.ceil(n_units * (half / margin) ** 2))
