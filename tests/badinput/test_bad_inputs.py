"""Every damaged input is one clear error: exit 2, one line naming the file / field / flag, no traceback,
nothing written (cases in ``badinput_cases.py``; ``badinput_table.py`` prints the closing-note table)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from badinput_cases import CASES
from badinput_outcome import run_case


def test_the_suite_covers_every_category_with_at_least_60_cases():
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.category for c in CASES} == {"corpus", "model", "config", "flag", "output", "ownership", "incomplete run"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_damaged_input_is_one_clean_error(case, pristine, tmp_path):
    outcome = run_case(case, pristine, tmp_path / "ws")
    assert not outcome.hang
    assert outcome.traceback is None, outcome.traceback
    assert outcome.rc == case.rc, (outcome.rc, outcome.error_lines)
    expected = case.expect(
        {
            "root": tmp_path / "ws",
            "data": tmp_path / "ws" / "data",
            "model": tmp_path / "ws" / "model",
            "out": tmp_path / "ws" / "out",
        }
    )
    assert outcome.lost == [], outcome.lost
    if case.rc == 0:  # it writes what it was asked for, and its first line says what is wrong
        assert expected in outcome.first_line, outcome.first_line
        return
    assert len(outcome.error_lines) == 1, outcome.error_lines
    assert expected in outcome.error_lines[0]
    assert outcome.written == [], outcome.written
