"""Table 3 rows: which models, in which order, with which values, and how cells and CIs are written."""

from __future__ import annotations

import csv
import io

import pytest

from musebench.report.export import table_csv
from musebench.report.tables import build_tables, format_cell, format_value, row_label
from musebench.report.verdicts import VerdictRules
from musebench.results import Scored, load_results


@pytest.fixture(scope="module")
def tables(sample_path):
    return build_tables(load_results(sample_path), VerdictRules())


def test_rows_are_target_retrain_then_each_selected_checkpoint(tables):
    assert [row_label(r) for r in tables.rows] == [
        "target",
        "retrain",
        "ga_gdr (epoch-2)",
        "npo_gdr (epoch-4)",
        "npo_klr (epoch-4)",
        "task_vector (alpha-8)",
    ]
    assert [r.kind for r in tables.rows] == ["target", "retrain"] + ["method"] * 4
    npo = tables.rows[3]
    assert dict(npo.scored.scores) == {
        "verbmem_f": 18.2,
        "knowmem_f": 32.5,
        "knowmem_r": 53.0,
        "auc": 0.4624,
        "privleak": -3.1,
    }
    assert tables.rows[0].verdicts is None and npo.verdicts["C3"].status == "inconclusive"


def test_cells_carry_the_confidence_interval(tables):
    target, _, ga, npo = tables.rows[:4]
    assert format_cell(npo.scored, "verbmem_f") == "18.2 [14.1, 22.3]"
    assert format_cell(ga.scored, "privleak") == "+108.1 [+99.7, +109.6]"
    assert format_cell(target.scored, "privleak") == "-99.8 [-100.0, -91.4]"
    assert format_cell(npo.scored, "knowmem_r") == "53.0 [48.0, 58.0]"


def test_cells_without_ci_or_value():
    scored = Scored({"knowmem_f": 31.04, "privleak": 0.04}, {})
    assert format_cell(scored, "knowmem_f") == "31.0"
    assert format_cell(scored, "privleak") == "+0.0"
    assert format_cell(scored, "verbmem_f") == "not run"
    assert format_value(None) == "not run"
    assert format_value(2.25, digits=2) == "2.25"


def test_csv_holds_values_bounds_and_verdicts(tables):
    rows = list(csv.DictReader(io.StringIO(table_csv(tables))))
    assert [r["model"] for r in rows] == ["target", "retrain", "ga_gdr", "npo_gdr", "npo_klr", "task_vector"]
    npo = rows[3]
    assert (npo["checkpoint"], npo["knowmem_f"], npo["knowmem_f_ci_lo"], npo["knowmem_f_ci_hi"]) == (
        "epoch-4",
        "32.5000",
        "27.2000",
        "37.8000",
    )
    assert npo["privleak"] == "-3.1000" and npo["auc"] == "0.4624"
    assert [npo[c] for c in ("C1", "C2", "C3", "C4", "C5", "C6")] == [
        "met",
        "met",
        "inconclusive",
        "met",
        "not met",
        "met",
    ]
    assert rows[4]["C5"] == "not run"
    assert rows[0]["C1"] == "" and rows[0]["verbmem_f"] == "58.4000"
