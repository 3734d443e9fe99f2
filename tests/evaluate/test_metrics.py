"""Metric math on hand-computed inputs (MUSE-SPEC, "the six criteria")."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from musebench.evaluate.bootstrap import bootstrap_ci
from musebench.evaluate.metrics import (
    auc,
    auc_by_ranks,
    knowmem_cut,
    lowercase_ratio,
    mean_nll,
    mean_x100,
    mink_count,
    mink_score,
    minkpp_score,
    minkpp_values,
    privleak,
    rouge_l_f1,
    rows_mean_x100,
    tpr_at_fpr,
    zlib_ratio,
)
from musebench.evaluate.scoring import token_statistics


def test_rouge_l_f1_by_hand():
    # LCS("the cat sat on the mat", "the cat on mat") = 4 tokens: P = 4/4, R = 4/6, F1 = 0.8
    assert rouge_l_f1("the cat sat on the mat", "the cat on mat") == pytest.approx(0.8)
    # rouge_score lower-cases and drops punctuation; no stemming: "running" != "run"
    assert rouge_l_f1("Hello, World!", "hello world") == pytest.approx(1.0)
    assert rouge_l_f1("running", "run") == 0.0
    assert rouge_l_f1("anything", "") == 0.0
    assert mean_x100([0.8, 0.4]) == pytest.approx(60.0)
    assert math.isnan(mean_x100([]))


@pytest.mark.parametrize(
    "raw, cut",
    [
        ("Kestrel Bay\n\nQuestion: Where was", "Kestrel Bay"),
        ("Kestrel Bay\nQuestion: Where", "Kestrel Bay"),
        ("Kestrel Bay Question: Where", "Kestrel Bay "),
        ("A\nQuestion B\n\nC", "A"),  # "\n\n" first -> "A\nQuestion B", then "\nQuestion" -> "A"
        ("no cut here", "no cut here"),
        ("Question: x", ""),
    ],
)
def test_knowmem_cut_rules_in_order(raw, cut):
    assert knowmem_cut(raw) == cut


@pytest.mark.parametrize(
    "n, k, count",
    [(10, 40, 4), (9, 40, 3), (100, 5, 5), (20, 5, 1), (2, 40, 1), (1, 5, 1), (0, 40, 0), (2047, 40, 818)],
)
def test_mink_count_is_int_of_n_times_k_over_100_at_least_one(n, k, count):
    assert mink_count(n, k) == count


def test_mink_score_by_hand():
    lp = np.array([-1, -2, -3, -4, -5, -0.5, -0.1, -0.2, -0.3, -0.4])
    assert mink_score(lp, 20) == pytest.approx(4.5)  # int(10*0.2) = 2 smallest: -5, -4
    assert mink_score(lp, 40) == pytest.approx((5 + 4 + 3 + 2) / 4)
    assert mink_score(np.array([-7.0]), 5) == pytest.approx(7.0)  # count 0 -> 1 token
    assert math.isnan(mink_score(np.array([]), 40))
    assert mean_nll(lp) == pytest.approx(-lp.mean())


def test_minkpp_by_hand():
    lp, mu, sigma = np.array([-1.0, -2.0]), np.array([-1.5, -1.5]), np.array([0.5, 0.25])
    np.testing.assert_allclose(minkpp_values(lp, mu, sigma), [1.0, -2.0])
    assert minkpp_score(lp, mu, sigma, 50) == pytest.approx(2.0)  # 1 smallest z = -2 -> score 2


def test_token_statistics_match_the_definition():
    logits = torch.tensor([[[0.0, math.log(2.0), math.log(5.0)], [1.0, 1.0, 1.0]]])
    targets = torch.tensor([[2, 0]])
    target_logp, mu, sigma = token_statistics(logits, targets)
    p = np.array([1, 2, 5]) / 8
    logp = np.log(p)
    assert target_logp[0, 0].item() == pytest.approx(math.log(5 / 8), abs=1e-6)
    assert mu[0, 0].item() == pytest.approx((p * logp).sum(), abs=1e-6)
    assert sigma[0, 0].item() == pytest.approx(math.sqrt((p * logp**2).sum() - (p * logp).sum() ** 2), abs=1e-6)
    assert mu[0, 1].item() == pytest.approx(math.log(1 / 3), abs=1e-6)
    assert sigma[0, 1].item() == pytest.approx(0.0, abs=1e-6)  # a flat distribution has no spread


def test_auc_orientation_memorised_forget_gives_zero():
    # lower score = member; holdout (non-members) are labelled 1 and scored with -score
    assert auc([1.0, 2.0, 3.0], [10.0, 11.0, 12.0]) == 0.0
    assert auc([10.0, 11.0], [1.0, 2.0]) == 1.0
    assert auc([5.0, 5.0], [5.0, 5.0]) == 0.5  # ties count one half
    # pairs (member, nonmember) where -nonmember > -member: only (3, 2) -> 1/4
    assert auc([1.0, 3.0], [2.0, 4.0]) == pytest.approx(0.25)
    assert math.isnan(auc([], [1.0]))


def test_rank_auc_equals_sklearn_trapezoid_auc():
    rng = np.random.default_rng(0)
    for _ in range(20):
        member = rng.integers(0, 6, rng.integers(1, 30)).astype(float)  # many ties
        nonmember = rng.integers(0, 6, rng.integers(1, 30)).astype(float)
        assert auc_by_ranks(member, nonmember) == pytest.approx(auc(member, nonmember), abs=1e-12)
    assert auc_by_ranks([1.0, 2.0], [10.0, 11.0]) == 0.0


def test_tpr_at_fpr():
    members, nonmembers = [1.0, 2.0, 3.0, 9.0], [2.5] + [10.0 + i for i in range(99)]
    # threshold below 2.5 flags 1 and 2 with no false positive; 3 needs FPR 1/100 = 1%
    assert tpr_at_fpr(members, nonmembers, 0.0) == pytest.approx(0.5)
    assert tpr_at_fpr(members, nonmembers, 0.01) == pytest.approx(1.0)
    assert tpr_at_fpr([1.0], [0.0], 0.05) == 0.0


def test_privleak_and_ratios():
    assert privleak(0.2, 0.5) == pytest.approx(-60.0)
    assert privleak(0.4772, 0.4772) == 0.0
    assert privleak(0.0, 0.4772) == pytest.approx(-100.0)
    assert math.isnan(privleak(0.3, None))
    assert zlib_ratio(2.0, "aaaa") == pytest.approx(2.0 / len(__import__("zlib").compress(b"aaaa")))
    assert lowercase_ratio(3.0, 2.0) == pytest.approx(1.5)


def test_bootstrap_ci_contains_estimate_and_is_seeded():
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1, 50)
    point = mean_x100(values)
    lo, hi = bootstrap_ci(mean_x100, [(values,)], samples=500, seed=3, name="m")
    assert lo <= point <= hi and hi - lo > 1
    assert bootstrap_ci(mean_x100, [(values,)], samples=500, seed=3, name="m") == [lo, hi]
    assert bootstrap_ci(mean_x100, [(values,)], samples=500, seed=4, name="m") != [lo, hi]
    forget, holdout = rng.normal(0, 1, 30), rng.normal(1, 1, 30)
    a_lo, a_hi = bootstrap_ci(auc, [(forget,), (holdout,)], samples=300, seed=0, name="auc")
    assert a_lo <= auc(forget, holdout) <= a_hi
    assert bootstrap_ci(mean_x100, [([],)], samples=10, seed=0) is None


def test_task_registry_metadata():
    from musebench.criteria import CRITERIA, SCORES
    from musebench.evaluate.registry import TASKS, task_named

    assert list(TASKS) == ["verbmem_f", "knowmem_f", "knowmem_r", "privleak", "privacy"]
    reported = {score.key: (score, t) for t in TASKS.values() for score in t.scores}
    assert set(reported) == set(SCORES)  # every MUSE score has one task computing it, metadata from criteria
    assert all(t.version >= 1 and t.needs and score is SCORES[k] for k, (score, t) in reported.items())
    for code in ("C1", "C2", "C3", "C4"):  # a criterion's corpus needs are stated once, on the criterion
        assert TASKS[CRITERIA[code].key].needs == CRITERIA[code].needs
    assert TASKS["privacy"].needs == CRITERIA["C3"].needs and TASKS["privacy"].covers == ("privleak",)
    assert task_named("AUC") is TASKS["privleak"] and task_named("utility") is TASKS["knowmem_r"]
    assert [t.name for t in TASKS.values() if not t.default] == ["privacy"]


def test_batched_bootstrap_equals_the_per_resample_loop():
    values = np.random.default_rng(7).uniform(0, 1, 75)
    loop = bootstrap_ci(mean_x100, [(values,)], samples=400, seed=0, name="verbmem_f")
    batched = bootstrap_ci(mean_x100, [(values,)], samples=400, seed=0, name="verbmem_f", batched=rows_mean_x100)
    assert batched == loop  # same draws, same rounding: bit-identical percentiles
    # the draws are the historical ones: resample b takes rng.integers(0, n, n) per group, in group order
    rng = np.random.default_rng([0, __import__("zlib").crc32(b"verbmem_f")])
    first = values[rng.integers(0, 75, 75)]
    stats = [mean_x100(first)] + [mean_x100(values[rng.integers(0, 75, 75)]) for _ in range(399)]
    assert loop == list(np.percentile(stats, [2.5, 97.5]))


def test_outputs_and_references_are_decoded_with_tokenization_spaces_cleaned(tiny_tokenizer):
    """The original scorer decodes with clean_up_tokenization_spaces=True: " ," and " 's" lose their space."""
    from musebench.evaluate.requests import Generation
    from musebench.evaluate.tasks import decode_generation, verbmem_reference

    ids = tiny_tokenizer("He said so , and it 's done .", add_special_tokens=False)["input_ids"]
    assert tiny_tokenizer.decode(ids, skip_special_tokens=True) == "He said so , and it 's done ."  # raw
    assert decode_generation(tiny_tokenizer, Generation(token_ids=ids, finish="length")) == "He said so, and it's done."
    assert verbmem_reference(tiny_tokenizer, "He said so , and it 's done .", 100) == "He said so, and it's done."
