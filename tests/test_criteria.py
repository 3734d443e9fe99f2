"""One vocabulary of scores and criteria: every layer's names, directions and ranges come from
``musebench.criteria``, so they cannot drift apart."""

from __future__ import annotations

import math

from musebench.criteria import (
    CRITERIA,
    CRITERION_SCORES,
    MUSE_CRITERIA,
    SCORE_KEYS,
    SCORES,
    TABLE3,
    criterion_of,
    title,
)


def test_scores_and_their_ranges():
    assert SCORE_KEYS == ("verbmem_f", "knowmem_f", "knowmem_r", "auc", "privleak")
    assert [(SCORES[k].low, SCORES[k].high) for k in SCORE_KEYS] == [
        (0.0, 100.0),
        (0.0, 100.0),
        (0.0, 100.0),
        (0.0, 1.0),
        (-math.inf, math.inf),
    ]
    assert [SCORES[k].column for k in TABLE3] == ["VerbMem-f ↓", "KnowMem-f ↓", "PrivLeak →0", "KnowMem-r ↑"]
    assert title("knowmem_r") == "KnowMem-r" and title("something") == "something"


def test_criteria_codes_names_and_what_measures_them():
    assert list(CRITERIA) == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"] and MUSE_CRITERIA == tuple(CRITERIA)[:6]
    assert CRITERIA["C1"].title == "C1 no verbatim memorization (VerbMem on forget)"
    assert criterion_of("privleak").code == "C3" and criterion_of("sustainability").code == "C6"
    assert criterion_of("auc") is None
    assert CRITERION_SCORES == ("verbmem_f", "knowmem_f", "knowmem_r", "privleak")


def test_every_layer_reads_the_same_vocabulary():
    from musebench.data import CRITERION_TITLES
    from musebench.evaluate.result import score_of
    from musebench.experiment.tables import COLUMNS as TERMINAL_COLUMNS
    from musebench.report.tables import COLUMNS as REPORT_COLUMNS
    from musebench.report.verdicts import CRITERIA as VERDICT_CRITERIA

    for key, score in SCORES.items():
        assert score_of(key) == (score, 1)  # the evaluation's metadata is the criteria module's
    assert list(CRITERION_TITLES) == [
        "verbmem_f",
        "knowmem_f",
        "knowmem_r",
        "privleak",
        "scalability",
        "sustainability",
    ]
    assert CRITERION_TITLES["scalability"] == "C5 scalability (forget sets of growing size)"
    assert list(REPORT_COLUMNS) == list(TABLE3) == [k for k, _, _ in TERMINAL_COLUMNS]
    assert REPORT_COLUMNS["privleak"] == "PrivLeak (%)"
    assert VERDICT_CRITERIA == {code: c.name for code, c in CRITERIA.items()}
