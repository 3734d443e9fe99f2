"""Recovery ratios and the results summary on hand-computed numbers."""

from __future__ import annotations

import numpy as np
import pytest

from musebench.robustness.recovery import (
    JUDGED,
    TOO_SMALL,
    excess,
    judge,
    kept,
    noise_floor,
    paraphrase_recovery,
    recoveries,
    recovery_ratio,
    relearn_excess,
)
from musebench.robustness.summary import summarise


def test_recovery_ratio_by_hand():
    # target 60, unlearned 20: an attack back to 30 recovers 10 of the 40 points forgotten
    assert recovery_ratio(30.0, 20.0, 60.0) == pytest.approx(0.25)
    assert recovery_ratio(20.0, 20.0, 60.0) == 0.0
    assert recovery_ratio(60.0, 20.0, 60.0) == 1.0
    assert recovery_ratio(10.0, 20.0, 60.0) == pytest.approx(-0.25)  # the attack made it forget more


def test_recovery_is_undefined_when_nothing_was_forgotten():
    assert recovery_ratio(50.0, 59.5, 60.0) is None  # gap 0.5 < 1 point
    assert recovery_ratio(None, 20.0, 60.0) is None
    assert recoveries(
        {"knowmem_f": 30.0, "auc": 0.3}, {"knowmem_f": 20.0, "auc": 0.305}, {"knowmem_f": 60.0, "auc": 0.3}
    ) == {"knowmem_f": 0.25, "auc": None}


def test_excess_is_the_gain_beyond_the_controls_gain_over_the_methods_own_gap():
    # the issue's case: target 70 on the rest, retrain 10 -> 16 (+6 points)
    a = relearn_excess(66.0, 60.0, 16.0, 10.0, 70.0)  # A: 60 -> 66, exactly the control's gain
    c = relearn_excess(21.0, 10.0, 16.0, 10.0, 70.0)  # C: 10 -> 21, 5 points beyond the control
    assert a == 0.0  # a ratio difference made this 6/10 - 6/60 = 0.50 (a failure)
    assert c == pytest.approx(5 / 60)
    assert c > a  # relearning beyond the control is never scored as better than matching it
    assert excess(
        {"knowmem_f": 66.0, "verbmem_f": 5.0},
        {"knowmem_f": 60.0},
        {"knowmem_f": 16.0},
        {"knowmem_f": 10.0},
        {"knowmem_f": 70.0},
    ) == {"knowmem_f": 0.0, "verbmem_f": None}


def _questions(mean: float, n: int, rng, spread: float = 30.0) -> np.ndarray:
    """n per-question scores in [0, 100] with exactly the given mean."""
    x = np.clip(rng.normal(mean, spread, n), 0, 100)
    x = x + (mean - x.mean())
    return np.clip(x, 0, 100) if (x >= 0).all() and (x <= 100).all() else np.full(n, mean)


def _relearn_case(before: float, after: float, n: int = 25, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    b = _questions(before, n, rng)
    cb = _questions(10.0, n, rng)

    def gains(mean):  # every question moves differently (a question is right or wrong after relearning)
        g = rng.normal(mean, 25.0, n)
        return g + (mean - g.mean())

    return {"A": b + gains(after - before), "B": b, "CA": cb + gains(6.0), "CB": cb, "T": _questions(70.0, n, rng)}


def test_issue_example_matching_the_control_never_fails_and_beyond_it_never_passes_as_better():
    # 25 questions: A's 10-point gap is within the noise (2 SE of the per-question gap), so it is not judged
    a = judge("relearn", [_relearn_case(60.0, 66.0)], ("T", "B"), name="A")
    assert a["status"] == TOO_SMALL and a["gap"] == pytest.approx(10.0)
    c = judge("relearn", [_relearn_case(10.0, 21.0)], ("T", "B"), name="C")
    assert c["status"] == JUDGED and c["value"] == pytest.approx(5 / 60, abs=1e-4)
    assert c["ci"][1] > 0.10  # C is not "met": 5 points beyond the control is not shown to be within 10 %
    # with 400 questions A's gap is judged: its excess is 0 and its CI's lower bound is within the limit, so it
    # is never "not met" (a 10-point gap leaves the ratio too noisy for "met" at this per-question spread)
    a = judge("relearn", [_relearn_case(60.0, 66.0, n=400)], ("T", "B"), name="A")
    assert a["status"] == JUDGED and a["value"] == pytest.approx(0.0, abs=1e-9)
    assert a["ci"][0] < 0 < a["ci"][1]


def test_noise_floor_is_two_standard_errors_of_the_per_question_gap():
    t, u = [100.0, 0.0, 100.0, 0.0], [0.0, 0.0, 0.0, 0.0]
    assert noise_floor(t, u) == pytest.approx(2 * np.std(t, ddof=1) / 2)  # sd 57.7 over sqrt(4)
    assert noise_floor([50.0], [0.0]) == float("inf")  # one question: no noise estimate, never judged


def test_a_gap_within_the_noise_is_too_small_to_judge():
    # 25 questions, target answers 3 (12 points), the unlearned model 2 (8 points): one answer apart
    t = np.zeros(25)
    t[:3] = 100
    u = np.zeros(25)
    u[:2] = 100
    out = judge("quantize", [{"A": t, "U": u, "T": t}], ("T", "U"))
    assert out["status"] == TOO_SMALL and out["value"] is None and out["ci"] is None
    assert out["gap"] == pytest.approx(4.0) and out["noise"] > 4.0


def test_quantize_ci_is_paired_and_contains_the_point_value():
    rng = np.random.default_rng(3)
    t = rng.uniform(40, 100, 40)
    u = t * 0.2
    a = u + 0.5 * (t - u)  # every question: half recovered
    out = judge("quantize", [{"A": a, "U": u, "T": t}], ("T", "U"))
    assert out["value"] == pytest.approx(0.5) and out["ci"] == [0.5, 0.5]  # paired: no spread at all


def test_paraphrase_recovery_normalises_each_probe_by_the_target():
    # original questions: target 60, unlearned 15 -> u = 0.25; rephrased: target 40, unlearned 20 -> p = 0.5
    # (0.5 - 0.25) / (1 - 0.25) = 1/3 of the forgotten share comes back when asked in other words
    assert paraphrase_recovery(20.0, 40.0, 15.0, 60.0) == pytest.approx(1 / 3, abs=1e-4)
    assert paraphrase_recovery(10.0, 40.0, 15.0, 60.0) == 0.0
    assert paraphrase_recovery(10.0, 0.5, 15.0, 60.0) is None  # the target cannot answer the rephrasings
    assert kept(15.0, 60.0) == 0.25 and kept(1.0, 0.0) is None


def _eval(**scores):
    return {"scores": scores, "ci": {k: [v - 1, v + 1] for k, v in scores.items()}}


def test_summarise_joins_attacks_controls_and_recoveries():
    target, retrain = {"knowmem_f": 60.0, "verbmem_f": 80.0}, {"knowmem_f": 20.0, "verbmem_f": 10.0}
    runs = {
        "target": {
            "quantize-nf4": _eval(knowmem_f=58.0, verbmem_f=79.0),
            "relearn-forget-slice": {"before": _eval(knowmem_f=62.0), "after": _eval(knowmem_f=64.0)},
            "paraphrase": _eval(knowmem_f=40.0),
        },
        "retrain": {
            "quantize-nf4": _eval(knowmem_f=20.0, verbmem_f=11.0),
            "relearn-forget-slice": {"before": _eval(knowmem_f=22.0), "after": _eval(knowmem_f=27.0)},
            "paraphrase": _eval(knowmem_f=14.0),
        },
        "npo": {
            "quantize-nf4": _eval(knowmem_f=41.0, verbmem_f=50.0),
            "relearn-forget-slice": {"before": _eval(knowmem_f=22.0), "after": _eval(knowmem_f=42.0)},
            "paraphrase": _eval(knowmem_f=20.0),
        },
    }
    doc = summarise(
        runs, {"npo": {"checkpoint": "epoch-2", "scores": {"knowmem_f": 15.0, "verbmem_f": 20.0}}}, target, retrain
    )
    npo = doc["methods"]["npo"]["attacks"]
    # quantized: (41 - 15) / (60 - 15) and (50 - 20) / (80 - 20)
    assert npo["quantize-nf4"]["recovery"] == {"knowmem_f": pytest.approx(26 / 45, abs=1e-4), "verbmem_f": 0.5}
    # relearned, on the rest: (42 - 22) / (62 - 22) = 0.5; the retrain control gains 27 - 22 = 5 points;
    # excess = (20 - 5) / (62 - 22)
    relearn = npo["relearn-forget-slice"]
    assert relearn["recovery"] == {"knowmem_f": 0.5}
    assert relearn["control_gain"] == {"knowmem_f": 5.0}
    assert relearn["measure"] == relearn["excess"] == {"knowmem_f": 0.375}
    # no per-question scores in these runs: nothing is judged, and it says so
    assert relearn["judged"]["knowmem_f"]["status"] == "no per-question scores"
    # rephrased: u = 15/60 = 0.25, p = 20/40 = 0.5 -> 1/3
    assert npo["paraphrase"]["measure"]["knowmem_f"] == pytest.approx(1 / 3, abs=1e-4)
    assert doc["methods"]["npo"]["kept_full_precision"] == {"knowmem_f": 0.25}
    assert doc["controls"]["target"]["quantize-nf4"]["shift"] == {"knowmem_f": -2.0, "verbmem_f": -1.0}
    assert doc["controls"]["retrain"]["relearn-forget-slice"]["baseline"] == {"knowmem_f": 22.0}


def test_summarise_keeps_a_skipped_attack_as_skipped():
    runs = {"whp": {"relearn-retain": {"skipped": "not run: WHP"}}}
    doc = summarise(runs, {"whp": {"scores": {"knowmem_f": 5.0}}}, {"knowmem_f": 60.0}, {})
    assert doc["methods"]["whp"]["attacks"]["relearn-retain"] == {"skipped": "not run: WHP"}


def test_summarise_judges_with_per_question_scores():
    n = 30
    t, u, a = np.full(n, 60.0), np.zeros(n), np.zeros(n)
    a[:3] = 60.0  # 3 of 30 questions come back
    runs = {
        "target": {},
        "retrain": {},
        "m": {"quantize-nf4": {"scores": {"knowmem_f": float(a.mean())}, "ci": {}, "items": {"knowmem_f": a.tolist()}}},
    }
    doc = summarise(
        runs,
        {"m": {"scores": {"knowmem_f": 0.0}}},
        {"knowmem_f": 60.0},
        {},
        baseline_items={"target": {"knowmem_f": t.tolist()}, "m": {"knowmem_f": u.tolist()}},
    )
    j = doc["methods"]["m"]["attacks"]["quantize-nf4"]["judged"]["knowmem_f"]
    assert j["status"] == JUDGED and j["value"] == pytest.approx(0.1) and j["n"] == n
    assert j["ci"][0] == 0.0 and 0.1 < j["ci"][1] < 0.3  # 0 to ~7 of 30 questions: the upper bound is above 10 %
