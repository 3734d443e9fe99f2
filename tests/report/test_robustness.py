"""The report's C7 parts from a results.json with a robustness block: table, chart, C7 column, bad input."""

from __future__ import annotations

import pytest

from musebench.errors import DataError
from musebench.report import build_report


def _attack(knowmem, base, recovery, ci=None, **extra):
    measure = extra.pop("measure", recovery)
    judged = (
        {
            "status": "judged",
            "value": measure,
            "ci": ci,
            "gap": 30.0,
            "noise": 9.5,
            "n": 25,
            "control": "the retrain model",
        }
        if ci
        else {"status": "too small to judge", "value": None, "ci": None, "gap": 3.0, "noise": 9.5, "n": 25}
    )
    return {
        "scores": {"knowmem_f": knowmem},
        "ci": {"knowmem_f": [knowmem - 2, knowmem + 2]},
        "baseline": {"knowmem_f": base},
        "recovery": {"knowmem_f": recovery},
        "measure": {"knowmem_f": measure},
        "judged": {"knowmem_f": judged},
        **extra,
    }


ROBUSTNESS = {
    "settings": {
        "quantize": ["nf4"],
        "relearn": {"on": ["forget-slice"], "fraction": 0.25, "steps": 10, "learning_rate": 0.001, "batch_size": 4},
        "paraphrase": True,
    },
    "notes": ["relearn-forget-slice: split by person (tags/forget.json): 5 of 20 people relearnable"],
    "titles": {  # what the run's attack registry calls each stage (``Attack.titles``)
        "quantize-nf4": "NF4 (4-bit)",
        "relearn-forget-slice": "relearn on forget slice",
        "paraphrase": "rephrased questions",
    },
    "controls": {
        "target": {
            "quantize-nf4": {
                "scores": {"knowmem_f": 60.0},
                "baseline": {"knowmem_f": 61.0},
                "shift": {"knowmem_f": -1.0},
            }
        }
    },
    "methods": {
        "ga_gdr": {
            "checkpoint": "epoch-2",
            "attacks": {
                "quantize-nf4": _attack(48.6, 31.0, 0.6, [0.4, 0.8]),
                "relearn-forget-slice": _attack(40.0, 30.0, 0.4, excess={"knowmem_f": 0.25}, measure=0.25),
            },
        },
        "npo_gdr": {
            "checkpoint": "epoch-4",
            "attacks": {
                "quantize-nf4": _attack(33.0, 32.5, 0.02, [-0.03, 0.07]),
                "paraphrase": _attack(10.0, 32.5, -0.1, [-0.2, 0.0]),
            },
        },
    },
}


def test_table_chart_and_c7_column(doc, write_run, tmp_path):
    doc["robustness"] = ROBUSTNESS
    page = build_report(write_run(tmp_path / "run", doc))
    report = page.parent
    md = (report / "results.md").read_text(encoding="utf-8")
    assert "## C7 Robustness" in md and "C7 Robust forgetting" in md
    assert "| ga_gdr | NF4 (4-bit) | KnowMem-f | 48.6 [46.6, 50.6] | 31.0 | +60 % |  |" in md
    assert "| ga_gdr | relearn on forget slice | KnowMem-f | 40.0 [38.0, 42.0] | 30.0 | +40 % | +25 % |" in md
    assert "| target | NF4 (4-bit) | KnowMem-f | 60.0 | 61.0 | (control) |  |" in md
    assert "split by person" in md and "10 steps of 4 documents at lr 0.001" in md
    assert (report / "plots" / "recovery.png").stat().st_size > 5000
    html = page.read_text(encoding="utf-8")
    assert 'id="plot-recovery"' in html and 'id="robustness"' in html
    # ga_gdr's C7 reason: NF4's lower bound is over the limit; relearning's gap is within the noise
    assert (
        "NF4 (4-bit) recovers 60% of KnowMem-f (95 % CI 40% to 80%) &gt; 10%; could not judge relearn on forget slice"
    ) in html
    # npo_gdr: the largest upper bound of 7 % and 0 %
    assert "at most 7% recovered (upper CI bound, NF4 (4-bit)) &lt;= 10% under 2 attacks" in html
    # the per-method C7 table: ratio with CI, gap against noise, outcome, control, three-valued C7
    assert (
        "| ga_gdr | NF4 (4-bit) | KnowMem-f | +60 % [+40, +80] % | 30.0 / 9.5 (n=25) | over limit | "
        "the retrain model | not met |"
    ) in md
    assert "|  | relearn on forget slice | KnowMem-f | n/a | 3.0 / 9.5 (n=25) | too small to judge |" in md
    assert "| npo_gdr | NF4 (4-bit) | KnowMem-f | +2 % [-3, +7] % | 30.0 / 9.5 (n=25) | within limit |" in md


def test_an_earlier_files_relearning_lr_and_untitled_stages_still_read():
    from musebench.report.robustness import describe_settings
    from musebench.results import Robustness

    budget = {"on": ["retain"], "fraction": 0.25, "steps": 3, "batch_size": 2}
    new = Robustness(settings={"relearn": {**budget, "learning_rate": 0.005}})
    line = "relearning on retain: 3 steps of 2 documents at lr 0.005, slice = 0.25 of the forget set"
    assert describe_settings(new) == [line]
    with pytest.warns(FutureWarning, match=r"robustness\.settings\.relearn\.lr"):
        assert describe_settings(Robustness(settings={"relearn": {**budget, "lr": 0.005}})) == [line]
    # a file written before attacks carried titles shows each stage by its name
    assert Robustness().title("quantize-nf4") == "quantize-nf4"
    assert Robustness(titles={"quantize-nf4": "NF4 (4-bit)"}).title("quantize-nf4") == "NF4 (4-bit)"


def test_a_malformed_robustness_block_is_one_error_naming_the_field(doc, write_run, tmp_path):
    doc["robustness"] = {"methods": {"ga_gdr": {"attacks": {"quantize-nf4": {"scores": {"knowmem_f": "high"}}}}}}
    with pytest.raises(DataError, match=r"robustness\.methods\.ga_gdr\.attacks\.quantize-nf4\.scores\.knowmem_f"):
        build_report(write_run(tmp_path / "run", doc))
    assert not (tmp_path / "run" / "report").exists()
