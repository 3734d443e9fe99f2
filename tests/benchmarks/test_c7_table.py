"""``benchmarks/c7_table.py``: a run's C7 table printed from its results.json, as the report states it."""

from __future__ import annotations

import json

import pytest


def _judged(value, ci, status="judged", control="retrain model, relearned alike: its gain subtracted"):
    return {"status": status, "value": value, "ci": ci, "gap": 30.0, "noise": 9.5, "n": 25, "control": control}


def _attack(judged):
    return {"scores": {"knowmem_f": 40.0}, "baseline": {"knowmem_f": 30.0}, "judged": {"knowmem_f": judged}}


ROBUSTNESS = {
    "titles": {"quantize-nf4": "NF4 (4-bit)", "relearn-forget-slice": "relearn on forget slice"},  # the registry's
    "controls": {},
    "methods": {
        "ga_gdr": {  # a lower bound over the limit, and an attack whose gap is within the noise
            "checkpoint": "epoch-2",
            "attacks": {
                "quantize-nf4": _attack(_judged(0.6, [0.4, 0.8], control="none")),
                "relearn-forget-slice": _attack(_judged(None, None, status="too small to judge")),
            },
        },
        "npo_gdr": {  # every upper bound within the limit
            "checkpoint": "epoch-4",
            "attacks": {
                "quantize-nf4": _attack(_judged(0.02, [-0.03, 0.07], control="none")),
                "relearn-forget-slice": _attack(_judged(-0.1, [-0.2, 0.05])),
            },
        },
        "npo_klr": {  # one CI straddles the limit
            "checkpoint": "epoch-4",
            "attacks": {"relearn-forget-slice": _attack(_judged(0.05, [-0.1, 0.2]))},
        },
    },
}


@pytest.fixture(scope="module")
def c7(load_script):
    return load_script("c7_table")


def test_the_table_has_each_attacks_ci_control_and_the_three_valued_c7(c7, sample_results, tmp_path):
    doc = json.loads(sample_results.read_text(encoding="utf-8"))
    doc["robustness"] = ROBUSTNESS
    (tmp_path / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    out = c7.c7_markdown(tmp_path)
    lines = out.splitlines()
    assert (
        "| ga_gdr | NF4 (4-bit) | KnowMem-f | +60 % [+40, +80] % | 30.0 / 9.5 (n=25) | over limit | none | not met |"
        in lines
    )
    assert (
        "|  | relearn on forget slice | KnowMem-f | n/a | 30.0 / 9.5 (n=25) | too small to judge | retrain model, relearned alike: its gain subtracted |  |"
        in lines
    )
    assert any(line.startswith("| npo_gdr | NF4 (4-bit) |") and line.endswith("| met |") for line in lines)
    assert any(line.startswith("| npo_klr |") and line.endswith("| inconclusive |") for line in lines)
    # the summary lines name the attacks that could not be judged
    assert any(
        line.startswith("- ga_gdr: **not met**") and "could not judge relearn on forget slice" in line for line in lines
    )
    assert any(line.startswith("- npo_klr: **inconclusive**: CI straddles 10% for relearn") for line in lines)


def test_a_run_without_attacks_says_so(c7, sample_results, tmp_path, capsys):
    (tmp_path / "results.json").write_bytes(sample_results.read_bytes())
    assert c7.main([str(tmp_path)]) == 0
    assert "C7 not run" in capsys.readouterr().out
    assert c7.main([str(tmp_path / "absent")]) == 2
