"""Recovery ratios and the results summary on hand-computed numbers."""

from __future__ import annotations

import pytest

from musebench.robustness.recovery import excess, kept, paraphrase_recovery, recoveries, recovery_ratio
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
    assert recoveries({"knowmem_f": 30.0, "auc": 0.3}, {"knowmem_f": 20.0, "auc": 0.305},
                      {"knowmem_f": 60.0, "auc": 0.3}) == {"knowmem_f": 0.25, "auc": None}


def test_excess_over_the_control():
    assert excess({"knowmem_f": 0.5, "verbmem_f": None}, {"knowmem_f": 0.125, "verbmem_f": 0.1}) == {
        "knowmem_f": 0.375, "verbmem_f": None}


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
        "target": {"quantize-nf4": _eval(knowmem_f=58.0, verbmem_f=79.0),
                   "relearn-forget-slice": {"before": _eval(knowmem_f=62.0), "after": _eval(knowmem_f=64.0)},
                   "paraphrase": _eval(knowmem_f=40.0)},
        "retrain": {"quantize-nf4": _eval(knowmem_f=20.0, verbmem_f=11.0),
                    "relearn-forget-slice": {"before": _eval(knowmem_f=22.0), "after": _eval(knowmem_f=27.0)},
                    "paraphrase": _eval(knowmem_f=14.0)},
        "npo": {"quantize-nf4": _eval(knowmem_f=41.0, verbmem_f=50.0),
                "relearn-forget-slice": {"before": _eval(knowmem_f=22.0), "after": _eval(knowmem_f=42.0)},
                "paraphrase": _eval(knowmem_f=20.0)},
    }
    doc = summarise(runs, {"npo": {"checkpoint": "epoch-2", "scores": {"knowmem_f": 15.0, "verbmem_f": 20.0}}},
                    target, retrain)
    npo = doc["methods"]["npo"]["attacks"]
    # quantized: (41 - 15) / (60 - 15) and (50 - 20) / (80 - 20)
    assert npo["quantize-nf4"]["recovery"] == {"knowmem_f": pytest.approx(26 / 45, abs=1e-4), "verbmem_f": 0.5}
    # relearned, on the rest: (42 - 22) / (62 - 22) = 0.5; retrain control (27 - 22) / (62 - 22) = 0.125
    relearn = npo["relearn-forget-slice"]
    assert relearn["recovery"] == {"knowmem_f": 0.5}
    assert relearn["control_recovery"] == {"knowmem_f": 0.125}
    assert relearn["measure"] == relearn["excess"] == {"knowmem_f": 0.375}
    # rephrased: u = 15/60 = 0.25, p = 20/40 = 0.5 -> 1/3
    assert npo["paraphrase"]["measure"]["knowmem_f"] == pytest.approx(1 / 3, abs=1e-4)
    assert doc["methods"]["npo"]["kept_full_precision"] == {"knowmem_f": 0.25}
    assert doc["controls"]["target"]["quantize-nf4"]["shift"] == {"knowmem_f": -2.0, "verbmem_f": -1.0}
    assert doc["controls"]["retrain"]["relearn-forget-slice"]["baseline"] == {"knowmem_f": 22.0}


def test_summarise_keeps_a_skipped_attack_as_skipped():
    runs = {"whp": {"relearn-retain": {"skipped": "not run: WHP"}}}
    doc = summarise(runs, {"whp": {"scores": {"knowmem_f": 5.0}}}, {"knowmem_f": 60.0}, {})
    assert doc["methods"]["whp"]["attacks"]["relearn-retain"] == {"skipped": "not run: WHP"}
