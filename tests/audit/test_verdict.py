"""The verdict rule on hand-made measurements: family-wise leak tests, equivalence, units, uninformative probes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from musebench.audit.measure import Measurement, exact_reproduction
from musebench.audit.settings import AuditSettings, audit_evaluation
from musebench.audit.stats import Side, holm, two_sample
from musebench.audit.verdict import _diff, _raw_stats, bootstrap, calibrate, change, overall, probe_stats

S = AuditSettings(
    probes=("verbatim", "membership"), min_documents=3, eval=replace(audit_evaluation(), bootstrap_samples=400)
)


def measurement(
    forget: list[float], holdout: list[float] | None, mink_f=None, mink_h=None, nll_f=None, probe="verbatim_rougeL"
):
    m = Measurement()
    for role, values in (("forget", forget), ("holdout", holdout)):
        if values is None:
            continue
        for d, v in enumerate(values):
            m.add(role, probe, d, v)
            m.add(role, probe, d, v)  # two chunks each: the document mean is v
    if mink_f is not None:
        m.membership["forget"] = {d: {"mink_40": v, "nll": v} for d, v in enumerate(mink_f)}
        if mink_h is not None:
            m.membership["holdout"] = {d: {"mink_40": v, "nll": v} for d, v in enumerate(mink_h)}
    if nll_f is not None:
        m.membership["forget"] = {d: {"mink_40": v, "nll": v} for d, v in enumerate(nll_f)}
    return m


def test_bootstrap_is_seeded_by_name_and_keeps_pairs():
    x = np.arange(10.0)
    a = bootstrap(np.mean, [(x,)], samples=200, seed=0, name="a")
    assert a == bootstrap(np.mean, [(x,)], samples=200, seed=0, name="a")
    assert a != bootstrap(np.mean, [(x,)], samples=200, seed=0, name="b")
    assert bootstrap(lambda u, v: float(np.mean(u - v)), [(x, x)], samples=50, seed=0, name="p") == [0.0, 0.0]


def test_forget_far_above_holdout_is_a_leak():
    stats = probe_stats(measurement([90, 95, 100, 85, 92], [20, 30, 25, 22, 28]), S)
    s = stats["verbatim_rougeL"]
    assert s.forget == pytest.approx(92.4) and s.unseen == pytest.approx(25.0)
    assert s.excess == pytest.approx(67.4) and s.status == "leak" and s.excess_ci[0] > 0
    # 5 + 5 documents: the permutation test's smallest p is 1 / C(10, 5) = 1/252 (with 400 draws, 1/401)
    assert s.p_leak < 0.01 and s.min_p == pytest.approx(1 / 252)
    assert overall(stats) == "leak"


def test_no_difference_is_never_indistinguishable_without_an_equivalence_test():
    same = probe_stats(measurement([20, 30, 25, 22, 28], [28, 22, 25, 30, 20]), S)
    s = same["verbatim_rougeL"]
    assert s.excess == pytest.approx(0.0) and s.status == "inconclusive"  # 5 documents a side: no claim
    assert overall(same) == "inconclusive" and s.units_needed >= S.min_units_equivalence
    # 100 documents a side from one distribution: the 90 % CI fits within +-0.5 SD
    rng = np.random.default_rng(1)
    big = probe_stats(measurement(list(rng.normal(50, 10, 100)), list(rng.normal(50, 10, 100))), S)
    assert big["verbatim_rougeL"].status == "indistinguishable" and overall(big) == "indistinguishable"


def test_lower_than_unseen_is_below_unseen():
    below = probe_stats(measurement([0, 1, 0, 2, 1], [20, 30, 25, 22, 28]), S)
    assert below["verbatim_rougeL"].status == "below_unseen" and overall(below) == "below_unseen"


def test_a_probe_with_no_variance_is_uninformative_and_left_out():
    stats = probe_stats(
        measurement([0, 0, 0, 0, 0], [0, 0, 0, 0, 0], probe="knowledge_em"), replace(S, probes=("knowledge",))
    )
    assert stats["knowledge_em"].status == "uninformative" and overall(stats) == "inconclusive"


def test_membership_auc_by_hand():
    """Forget Min-K% scores 1, 2, 3 (lower = member) vs holdout 2.5, 4, 5: of the 9 pairs a holdout text
    scores below a forget text only for (2.5 < 3): AUC = 1/9 under MUSE's orientation (holdout = 1)."""
    m = measurement([50, 50, 50], [50, 50, 50], mink_f=[1.0, 2.0, 3.0], mink_h=[2.5, 4.0, 5.0])
    s = probe_stats(m, S)["membership"]
    assert s.forget == pytest.approx(1 / 9) and s.unseen == 0.5 and s.excess == pytest.approx(0.5 - 1 / 9)
    assert s.margin == pytest.approx(0.138, abs=1e-3)  # AUC distance of two samples 0.5 SD apart


def test_units_not_documents_are_resampled():
    """Two people, five documents each: the person, not the document, is what was drawn. Documents make
    a leak out of two people; people make the test powerless (and it says so)."""
    jitter = [0.0, 0.5, -0.5, 1.0, -1.0]
    f = [60 + j for j in jitter] + [55 + j for j in jitter]
    h = [50 + j for j in jitter] + [45 + j for j in jitter]
    docs = two_sample(_diff, Side.of(f), Side.of(h), 400, 0, "docs")
    people = two_sample(_diff, Side.of(f, ["a"] * 5 + ["b"] * 5), Side.of(h, ["c"] * 5 + ["d"] * 5), 400, 0, "p")
    assert docs.p_higher < 0.05 and people.p_higher > 0.05
    assert people.min_p == pytest.approx(1 / 6)  # C(4, 2) ways to give two of four people the forget label
    assert people.ci95[1] - people.ci95[0] > docs.ci95[1] - docs.ci95[0]


def test_holm_and_its_refinement_for_tests_that_cannot_reach_significance():
    assert holm([0.01, 0.04, 0.03], 0.05) == [True, False, False]  # 0.01 <= 0.05/3; 0.03 > 0.05/2
    assert holm([0.01, 0.02, 0.03], 0.05) == [True, True, True]
    # two of four tests can never get below 0.2: the family is the two that can
    assert holm([0.02, 0.024, 0.2, 0.2], 0.05, min_p=[0.001, 0.001, 0.2, 0.2]) == [True, True, False, False]
    assert holm([0.02, 0.024, 0.2, 0.2], 0.05) == [False, False, False, False]


def test_leak_is_corrected_over_every_probe_and_attack():
    """Ten families that each barely pass at 5 % alone: after Holm over all of them, none is a leak."""
    fams = [_raw_stats(measurement([3, 4, 5, 6, 7, 8], [0, 1, 2, 3, 4, 5]), S, None, None, f"f{i}") for i in range(10)]
    alone = [probe_stats(measurement([3, 4, 5, 6, 7, 8], [0, 1, 2, 3, 4, 5]), S, name=f"f{i}") for i in range(10)]
    assert any(a["verbatim_rougeL"].status == "leak" for a in alone)
    calibrate(fams, S)
    assert overall(*fams) != "leak"


def test_paired_mode_compares_with_the_reference_model_document_by_document():
    model = measurement([60, 70, 80, 90, 65, 75], None, nll_f=[1.0, 1.0, 2.0, 2.0, 1.5, 1.5])
    ref = measurement([50, 60, 70, 80, 55, 65], None, nll_f=[2.0, 2.0, 4.0, 4.0, 3.0, 3.0])
    stats = probe_stats(model, S, ref)
    v = stats["verbatim_rougeL"]
    assert v.excess == pytest.approx(10.0) and v.excess_ci == pytest.approx([10.0, 10.0]) and v.status == "leak"
    assert v.p_leak == pytest.approx(1 / 64, abs=0.01)  # every sign flip but one gives less
    mem = stats["membership"]
    assert mem.forget == pytest.approx(0.5) and mem.unseen == 1.0  # half the NLL


def test_reference_with_holdout_corrects_a_shifted_holdout():
    """The holdout is harder for every model (20 points lower): against it a never-seen model looks like a
    leak; taken relative to a reference model that never saw the forget set either, it does not."""
    rng = np.random.default_rng(0)
    base_f, base_h = rng.normal(50, 5, 12), rng.normal(30, 5, 12)  # the shift
    model = measurement(list(base_f + rng.normal(0, 1, 12)), list(base_h + rng.normal(0, 1, 12)))
    ref = measurement(list(base_f), list(base_h))
    assert probe_stats(model, S)["verbatim_rougeL"].status == "leak"
    corrected = probe_stats(model, S, ref)["verbatim_rougeL"]
    assert corrected.status != "leak" and abs(corrected.excess) < 2


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


def test_the_vectorised_mean_test_agrees_with_the_general_one():
    rng = np.random.default_rng(2)
    f, h = Side.of(rng.normal(1, 1, 12), [str(i // 3) for i in range(12)]), Side.of(rng.normal(0, 1, 12))
    fast, slow = two_sample(None, f, h, 2000, 0, "x"), two_sample(_diff, f, h, 2000, 0, "x")
    assert fast.observed == pytest.approx(slow.observed) and fast.min_p == slow.min_p
    assert fast.p_higher == pytest.approx(slow.p_higher, abs=0.02)
    assert fast.ci95 == pytest.approx(slow.ci95, abs=0.15)
