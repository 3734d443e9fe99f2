"""Verdicts in context: a method that forgot nothing is not rewarded on C4-C7, and a C4 bar the retrain model
itself misses is said so (in the reasons and on the report pages).

References: target KnowMem-f 65 / KnowMem-r 60, retrain KnowMem-f 30, so a method must bring KnowMem-f to
65 - 0.25 x 35 = 56.25 or lower before C4-C7 can pass; the utility floor is 57.0.
"""

from __future__ import annotations

import pytest

from musebench.report.verdicts import (
    INCONCLUSIVE,
    MET,
    NOT_JUDGED,
    NOT_MET,
    VerdictRules,
    forgotten_share,
    judge_method,
    retrain_utility_note,
)
from musebench.results import AttackResult, Checkpoint, MethodResult, Results, RobustMethod, Robustness, Scored

TARGET = Scored({"verbmem_f": 60.0, "knowmem_f": 65.0, "knowmem_r": 60.0, "privleak": -99.0})
RETRAIN = Scored({"verbmem_f": 20.0, "knowmem_f": 30.0, "knowmem_r": 59.0, "privleak": 0.0})


def verdicts(knowmem_f: float, retrain=RETRAIN, knowmem_r: float = 58.0):
    scores = {"verbmem_f": 50.0, "knowmem_f": knowmem_f, "privleak": -90.0, "knowmem_r": knowmem_r}
    method = MethodResult("m", (Checkpoint(scores, label="epoch-1"),), "epoch-1")
    robust = Robustness(
        methods={
            "m": RobustMethod(
                attacks={"quantize-nf4": AttackResult(scores={"knowmem_f": knowmem_f}, measure={"knowmem_f": 0.0})}
            )
        }
    )
    return judge_method(method, Results("r", TARGET, retrain, {"m": method}, robustness=robust), VerdictRules())


def test_forgotten_share_is_the_part_of_the_targets_lead_removed():
    assert forgotten_share(Scored({"knowmem_f": 30.0}), TARGET, RETRAIN) == 1.0
    assert forgotten_share(Scored({"knowmem_f": 65.0}), TARGET, RETRAIN) == 0.0
    assert forgotten_share(Scored({"knowmem_f": 56.25}), TARGET, RETRAIN) == 0.25
    assert forgotten_share(Scored({"knowmem_f": 64.5}), TARGET, Scored({"knowmem_f": 64.2})) is None  # no lead
    assert forgotten_share(Scored({}), TARGET, RETRAIN) is None


@pytest.mark.parametrize("knowmem_f, c4", [(64.0, NOT_JUDGED), (56.3, NOT_JUDGED), (56.25, MET), (40.0, MET)])
def test_a_method_that_forgot_nothing_gets_no_utility_or_robustness_tick(knowmem_f, c4):
    """The case of a logit-difference method that kept KnowMem-f 70.0 of the target's 71.2: its utility and its
    'robustness' were the target's own, and the report gave it the only green C4 and C7."""
    v = verdicts(knowmem_f)
    # C7 of a method that forgot: inconclusive here, as the attack entry has no per-question scores to judge
    assert v["C4"].status == c4 and v["C7"].status == (c4 if c4 == NOT_JUDGED else INCONCLUSIVE)
    assert v["C1"].status == v["C2"].status == NOT_MET  # the failures stay failures
    if c4 == NOT_JUDGED:
        assert v["C4"].symbol == "–" and "not judged" in v["C4"].reason and "65.0 vs 30.0" in v["C4"].reason


def test_a_failed_utility_verdict_of_a_forgetting_method_is_kept():
    assert verdicts(64.0, knowmem_r=10.0)["C4"].status == NOT_MET


def test_the_report_says_when_the_retrain_model_misses_the_c4_bar():
    weak = Scored({**RETRAIN.scores, "knowmem_r": 40.0})
    v = verdicts(30.0, retrain=weak, knowmem_r=45.0)
    assert v["C4"].status == NOT_MET and v["C4"].reason == "KnowMem-r 45.0 < 57.0 (the retrain model itself has 40.0)"
    note = retrain_utility_note(Results("r", TARGET, weak, {}), VerdictRules())
    assert note.startswith(
        "The retrain model itself misses the C4 bar: its KnowMem-r 40.0 < 57.0 (95% of the target's 60.0)"
    )
    assert retrain_utility_note(Results("r", TARGET, RETRAIN, {}), VerdictRules()) is None
    assert verdicts(30.0)["C4"].reason == "KnowMem-r 58.0 >= 57.0"


def test_the_note_is_on_both_report_pages(sample_path, tmp_path):
    import json

    from musebench.report import build_report

    run = tmp_path / "run"
    run.mkdir()
    doc = json.loads(sample_path.read_text(encoding="utf-8"))
    doc["reference"]["retrain"]["scores"]["knowmem_r"] = 30.0  # below 95 % of the target's 55.2
    (run / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    page = build_report(run)
    assert "The retrain model itself misses the C4 bar: its KnowMem-r 30.0 &lt; 52.4" in page.read_text(
        encoding="utf-8"
    )
    assert "**The retrain model itself misses the C4 bar" in (page.parent / "results.md").read_text(encoding="utf-8")
