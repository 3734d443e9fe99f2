"""The six-way verdict rules on hand-made numbers, boundaries included.

References used throughout: retrain VerbMem-f 20, KnowMem-f 30; target KnowMem-r 60, so with the default
95 % rule the utility floor is 57.0.
"""

from __future__ import annotations

import pytest

from musebench.errors import ConfigError
from musebench.report.verdicts import (
    INCONCLUSIVE,
    MET,
    NOT_MET,
    NOT_RUN,
    VerdictRules,
    judge_all,
    judge_method,
)
from musebench.results import (
    AttackResult,
    Checkpoint,
    MethodResult,
    Results,
    RobustMethod,
    Robustness,
    ScalabilityFold,
    Scored,
    SustainabilityRequest,
    load_results,
)
from musebench.robustness.registry import stage_title

TARGET = Scored({"verbmem_f": 60.0, "knowmem_f": 65.0, "knowmem_r": 60.0, "privleak": -99.0})
DEFAULT_RULES = VerdictRules()
RETRAIN = Scored({"verbmem_f": 20.0, "knowmem_f": 30.0, "knowmem_r": 59.0, "privleak": 0.0})


def judge(scores: dict, folds=(), requests=(), rules=DEFAULT_RULES, target=TARGET) -> dict:
    method = MethodResult(
        "m",
        (Checkpoint(scores, label="epoch-1"),),
        "epoch-1",
        scalability=tuple(
            ScalabilityFold({"knowmem_r": v} if v is not None else {}, fold=i + 1) for i, v in enumerate(folds)
        ),
        sustainability=tuple(SustainabilityRequest({"knowmem_r": v}, request=i + 1) for i, v in enumerate(requests)),
    )
    results = Results("r", target, RETRAIN, {"m": method})
    return {code: v.status for code, v in judge_method(method, results, rules).items()}


def full(verbmem=10.0, knowmem=25.0, privleak=1.0, utility=58.0) -> dict:
    return {"verbmem_f": verbmem, "knowmem_f": knowmem, "privleak": privleak, "knowmem_r": utility}


def test_a_method_meeting_c1_to_c4():
    assert judge(full()) == {"C1": MET, "C2": MET, "C3": MET, "C4": MET, "C5": NOT_RUN, "C6": NOT_RUN, "C7": NOT_RUN}


@pytest.mark.parametrize("verbmem, status", [(19.9, MET), (20.0, MET), (20.1, NOT_MET)])
def test_c1_verbmem_at_most_retrain(verbmem, status):
    assert judge(full(verbmem=verbmem))["C1"] == status


@pytest.mark.parametrize("knowmem, status", [(0.0, MET), (30.0, MET), (30.05, NOT_MET)])
def test_c2_knowmem_at_most_retrain(knowmem, status):
    assert judge(full(knowmem=knowmem))["C2"] == status


@pytest.mark.parametrize(
    "privleak, status",
    [(0.0, MET), (5.0, MET), (-5.0, MET), (5.01, NOT_MET), (-5.01, NOT_MET), (108.1, NOT_MET), (-99.8, NOT_MET)],
)
def test_c3_privleak_within_tolerance_both_sides(privleak, status):
    assert judge(full(privleak=privleak))["C3"] == status


def test_c3_tolerance_is_settable():
    assert judge(full(privleak=-9.0), rules=VerdictRules(privleak_tolerance=10.0))["C3"] == MET
    assert judge(full(privleak=-9.0), rules=VerdictRules(privleak_tolerance=5.0))["C3"] == NOT_MET


@pytest.mark.parametrize("utility, status", [(57.0, MET), (56.99, NOT_MET), (61.0, MET), (0.0, NOT_MET)])
def test_c4_utility_floor_is_95_percent_of_target(utility, status):
    assert judge(full(utility=utility))["C4"] == status


def test_c4_fraction_is_settable():
    assert judge(full(utility=45.0), rules=VerdictRules(utility_fraction=0.75))["C4"] == MET  # floor 45.0
    assert judge(full(utility=44.9), rules=VerdictRules(utility_fraction=0.75))["C4"] == NOT_MET


def test_c5_needs_utility_at_every_size():
    assert judge(full(), folds=[59.0, 58.0, 57.0, 57.5])["C5"] == MET
    assert judge(full(), folds=[59.0, 58.0, 56.9, 57.5])["C5"] == NOT_MET


def test_c6_needs_utility_after_every_request():
    assert judge(full(), requests=[58.0, 57.0])["C6"] == MET
    assert judge(full(), requests=[58.0, 57.0, 40.0])["C6"] == NOT_MET


def test_c5_with_a_fold_lacking_utility_is_not_run_unless_another_fails():
    assert judge(full(), folds=[58.0, None])["C5"] == NOT_RUN
    assert judge(full(), folds=[50.0, None])["C5"] == NOT_MET


def test_missing_numbers_are_not_run_never_failures():
    verdicts = judge({"knowmem_f": 25.0})
    assert verdicts == {
        "C1": NOT_RUN,
        "C2": MET,
        "C3": NOT_RUN,
        "C4": NOT_RUN,
        "C5": NOT_RUN,
        "C6": NOT_RUN,
        "C7": NOT_RUN,
    }


def test_utility_rules_without_a_target_utility_are_not_run():
    verdicts = judge(full(), folds=[10.0], requests=[10.0], target=Scored({"knowmem_f": 65.0}))
    assert (verdicts["C4"], verdicts["C5"], verdicts["C6"]) == (NOT_RUN, NOT_RUN, NOT_RUN)


def test_reasons_quote_the_numbers():
    method = MethodResult("m", (Checkpoint(full(privleak=-12.34, utility=50.0), label="epoch-2"),), "epoch-2")
    verdicts = judge_method(method, Results("r", TARGET, RETRAIN, {"m": method}), VerdictRules())
    assert verdicts["C3"].reason == "PrivLeak -12.3 outside ±5 (under-unlearned)"
    assert verdicts["C4"].reason == "KnowMem-r 50.0 < 57.0"
    assert verdicts["C1"].reason == "VerbMem-f 10.0 <= retrain 20.0"
    assert (verdicts["C1"].symbol, verdicts["C4"].symbol, verdicts["C5"].symbol) == ("✓", "✗", "not run")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"privleak_tolerance": -1.0}, "privleak_tolerance"),
        ({"utility_fraction": 0.0}, "utility_fraction"),
        ({"utility_fraction": 1.5}, "utility_fraction"),
    ],
)
def test_invalid_rules_are_config_errors(kwargs, field):
    with pytest.raises(ConfigError) as err:
        VerdictRules(**kwargs)
    assert err.value.field == field


def test_rules_are_printed_with_their_thresholds():
    text = VerdictRules(privleak_tolerance=7.5, utility_fraction=0.9).describe()
    assert list(text) == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    assert "|PrivLeak| <= 7.5 %" in text["C3"]
    assert "90 % of the target model's KnowMem-r" in text["C4"]


def test_sample_run_verdicts(sample_path):
    """The sample's numbers (see tests/report/data/results.json), judged by hand:
    ga_gdr epoch-2: 4.9<=20.8, 31.0<=33.1, +108.1, 27.3<52.44, fold 1 44.0, request 1 40.2;
    npo_gdr epoch-4: 18.2, 32.5, -3.1, 53.0>=52.44, fold 4 50.8 < 52.44, requests >= 52.5;
    npo_klr and task_vector reach neither retrain level nor the utility floor and ran no C5/C6; no C7 ran."""
    verdicts = judge_all(load_results(sample_path), VerdictRules())
    statuses = {m: [v.status for v in vs.values()] for m, vs in verdicts.items()}
    assert statuses == {
        "ga_gdr": [MET, MET, NOT_MET, NOT_MET, NOT_MET, NOT_MET, NOT_RUN],
        "npo_gdr": [MET, MET, INCONCLUSIVE, MET, NOT_MET, MET, NOT_RUN],  # PrivLeak -3.1, CI [-11.5, 5.3]
        "npo_klr": [NOT_MET, NOT_MET, NOT_MET, NOT_MET, NOT_RUN, NOT_RUN, NOT_RUN],
        "task_vector": [NOT_MET, NOT_MET, NOT_MET, NOT_MET, NOT_RUN, NOT_RUN, NOT_RUN],
    }
    assert verdicts["npo_gdr"]["C5"].reason == "KnowMem-r 50.8 < 52.4 at fold 4 (40 docs)"


def _robust(cis: dict) -> Robustness:
    """attack -> (value, [lo, hi]) judged on KnowMem-f, or a status string (not judged)."""

    def judged(v):
        if isinstance(v, str):
            return {"status": v, "value": None, "ci": None}
        return {"status": "judged", "value": v[0], "ci": list(v[1]), "gap": 30.0, "noise": 8.0, "n": 25}

    return Robustness(
        methods={
            "m": RobustMethod(
                attacks={
                    a: AttackResult(
                        scores={"knowmem_f": 1.0},
                        measure={"knowmem_f": v if isinstance(v, str) else v[0]}
                        if not isinstance(v, str)
                        else {"knowmem_f": None},
                        judged={"knowmem_f": judged(v)},
                    )
                    for a, v in cis.items()
                }
            )
        },
        titles={a: stage_title(a) for a in cis},
    )


@pytest.mark.parametrize(
    "cis, status",
    [
        ({"quantize-nf4": (0.02, [-0.05, 0.10]), "relearn-forget-slice": (-0.2, [-0.3, -0.1])}, MET),
        ({"quantize-nf4": (0.05, [0.0, 0.09]), "paraphrase": (0.3, [0.11, 0.5])}, NOT_MET),  # one lower bound > 10 %
        ({"quantize-nf4": (0.05, [-0.1, 0.3])}, INCONCLUSIVE),  # the CI straddles the limit
        ({"quantize-nf4": (0.0, [-0.05, 0.05]), "relearn-forget-slice": "too small to judge"}, INCONCLUSIVE),
        ({}, NOT_RUN),
    ],
)
def test_c7_is_three_valued_on_every_attacks_ci(cis, status):
    method = MethodResult("m", (Checkpoint(full(), label="epoch-1"),), "epoch-1")
    results = Results("r", TARGET, RETRAIN, {"m": method}, robustness=_robust(cis) if cis else None)
    verdict = judge_method(method, results, DEFAULT_RULES)["C7"]
    assert verdict.status == status
    if status == NOT_MET:
        assert "rephrased questions recovers 30% of KnowMem-f (95 % CI 11% to 50%) > 10%" in verdict.reason
    if cis.get("relearn-forget-slice") == "too small to judge":
        assert "could not judge relearn on forget slice" in verdict.reason


@pytest.mark.parametrize(
    "value, ci, status",
    [
        (-3.1, [-11.5, 5.3], INCONCLUSIVE),  # +-8 points of CI against a +-5 band: not resolvable
        (-3.1, [-5.0, 1.0], MET),
        (-95.8, [-100.0, -87.4], NOT_MET),  # wider than the band but wholly outside it: a clear miss
        (2.0, None, MET),  # no CI (a constant retrain AUC and no bootstrap): the point value decides
    ],
)
def test_c3_is_not_resolvable_when_privleaks_ci_is_wider_than_the_tolerance(value, ci, status):
    scores = full(privleak=value)
    method = MethodResult("m", (Checkpoint(scores, ci={"privleak": tuple(ci)} if ci else {}, label="e"),), "e")
    results = Results("r", TARGET, RETRAIN, {"m": method})
    verdict = judge_method(method, results, DEFAULT_RULES)["C3"]
    assert verdict.status == status
    if status == INCONCLUSIVE:
        assert verdict.reason.startswith("C3 not resolvable at this sample size")
