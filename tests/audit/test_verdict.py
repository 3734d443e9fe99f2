"""The verdict rule on hand-made measurements: leak, indistinguishable, below unseen, not judged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from musebench.audit.measure import Measurement, exact_reproduction
from musebench.audit.settings import AuditSettings
from musebench.audit.verdict import bootstrap, change, judge, overall, probe_stats

S = AuditSettings(probes=("verbatim", "membership"), bootstrap_samples=300, min_documents=3)


def measurement(forget: list[float], holdout: list[float] | None, mink_f=None, mink_h=None, nll_f=None):
    m = Measurement()
    for role, values in (("forget", forget), ("holdout", holdout)):
        if values is None:
            continue
        for d, v in enumerate(values):
            m.add(role, "verbatim_rougeL", d, v)
            m.add(role, "verbatim_rougeL", d, v)  # two chunks each: the document mean is v
    if mink_f is not None:
        m.membership["forget"] = {d: {"mink_40": v, "nll": v} for d, v in enumerate(mink_f)}
        if mink_h is not None:
            m.membership["holdout"] = {d: {"mink_40": v, "nll": v} for d, v in enumerate(mink_h)}
    if nll_f is not None:
        m.membership["forget"] = {d: {"mink_40": v, "nll": v} for d, v in enumerate(nll_f)}
    return m


@pytest.mark.parametrize(
    "ci, status",
    [
        ([0.1, 3.0], "leak"),
        ([-3.0, -0.1], "below_unseen"),
        ([-1.0, 1.0], "indistinguishable"),
        ([0.0, 0.0], "indistinguishable"),
        (None, "not_judged"),
    ],
)
def test_judge_reads_the_excess_ci(ci, status):
    assert judge(ci, 10, 10, 5) == status


def test_judge_needs_enough_documents():
    assert judge([1.0, 2.0], 4, 10, 5) == "not_judged"


def test_bootstrap_is_seeded_by_name_and_keeps_pairs():
    x = np.arange(10.0)
    a = bootstrap(np.mean, [(x,)], samples=200, seed=0, name="a")
    assert a == bootstrap(np.mean, [(x,)], samples=200, seed=0, name="a")
    assert a != bootstrap(np.mean, [(x,)], samples=200, seed=0, name="b")
    # aligned arrays are resampled with the same rows: x - x is 0 in every resample
    assert bootstrap(lambda u, v: float(np.mean(u - v)), [(x, x)], samples=50, seed=0, name="p") == [0.0, 0.0]


def test_forget_far_above_holdout_is_a_leak():
    stats = probe_stats(measurement([90, 95, 100, 85, 92], [20, 30, 25, 22, 28]), S)
    s = stats["verbatim_rougeL"]
    assert s.forget == pytest.approx(92.4) and s.unseen == pytest.approx(25.0)
    assert s.excess == pytest.approx(67.4) and s.status == "leak" and s.excess_ci[0] > 0
    assert s.forget_ci[0] <= s.forget <= s.forget_ci[1]
    assert overall(stats) == "leak"


def test_same_distribution_is_indistinguishable_and_lower_is_below_unseen():
    same = probe_stats(measurement([20, 30, 25, 22, 28], [28, 22, 25, 30, 20]), S)
    assert same["verbatim_rougeL"].excess == pytest.approx(0.0) and overall(same) == "indistinguishable"
    below = probe_stats(measurement([0, 1, 0, 2, 1], [20, 30, 25, 22, 28]), S)
    assert below["verbatim_rougeL"].status == "below_unseen" and overall(below) == "below_unseen"


def test_membership_auc_by_hand():
    """Forget Min-K% scores 1, 2, 3 (lower = member) vs holdout 2.5, 4, 5: of the 9 pairs a holdout text
    scores below a forget text only for (2.5 < 3): AUC = 1/9 under MUSE's orientation (holdout = 1)."""
    m = measurement([50, 50, 50], [50, 50, 50], mink_f=[1.0, 2.0, 3.0], mink_h=[2.5, 4.0, 5.0])
    s = probe_stats(m, S)["membership"]
    assert s.forget == pytest.approx(1 / 9) and s.unseen == 0.5 and s.excess == pytest.approx(0.5 - 1 / 9)
    assert s.excess_ci[0] == pytest.approx(0.5 - s.forget_ci[1])


def test_paired_mode_compares_with_the_reference_model_document_by_document():
    model = measurement([60, 70, 80, 90], None, nll_f=[1.0, 1.0, 2.0, 2.0])
    ref = measurement([50, 60, 70, 80], None, nll_f=[2.0, 2.0, 4.0, 4.0])
    stats = probe_stats(model, S, ref)
    v = stats["verbatim_rougeL"]
    assert (
        v.excess == pytest.approx(10.0) and v.excess_ci == pytest.approx([10.0, 10.0]) and v.status == "leak"
    )
    mem = stats["membership"]
    assert mem.forget == pytest.approx(0.5) and mem.unseen == 1.0 and mem.status == "leak"  # half the NLL


def test_change_before_after_is_paired():
    after = measurement([10, 20, 30], [10, 20, 30])
    before = measurement([70, 80, 90], [10, 20, 30])  # every document fell by 60: a CI of width 0
    c = change(after, before, replace(S, probes=("verbatim",)))["verbatim_rougeL"]
    assert c["before"] == pytest.approx(80) and c["after"] == pytest.approx(20)
    assert c["change"] == pytest.approx(-60) and c["change_ci"] == pytest.approx([-60, -60])


def test_exact_reproduction_ignores_whitespace_only():
    assert exact_reproduction("the  cat sat\n", "the cat sat on the mat")
    assert not exact_reproduction("the cat sat", "the cat sits")
    assert not exact_reproduction("", "anything")
