"""``musebench report RUN_DIR [--out DIR]``: exit 0 with the report, exit 2 with one line naming the problem."""

from __future__ import annotations

import json

import pytest

from musebench.cli import main


def one_method(doc: dict) -> dict:
    doc["methods"] = {"npo_klr": doc["methods"]["npo_klr"]}
    return doc


def test_report_command_writes_the_report(tmp_path, doc, write_run, capsys):
    run = write_run(tmp_path / "run", one_method(doc))
    assert main(["report", str(run), "--out", str(tmp_path / "out"), "--privleak-tolerance", "100"]) == 0
    assert str(tmp_path / "out") in capsys.readouterr().out
    assert {p.name for p in (tmp_path / "out").iterdir() if p.name[0] != "."} == {
        "index.html",
        "results.md",
        "results.csv",
        "results.json",
        "plots",
    }
    data = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert data["rules"]["privleak_tolerance"] == 100.0
    assert data["verdicts"]["npo_klr"]["C3"]["status"] == "met"  # |-95.8| <= 100
    assert not (run / "report").exists()


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_missing_results_file_exits_2_naming_it(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    line = error_line(capsys)
    assert line.startswith("musebench report: error: ")
    assert f"{tmp_path / 'results.json'}: results file not found" in line


def test_bad_field_exits_2_naming_it(tmp_path, doc, write_run, capsys):
    doc["reference"]["retrain"]["scores"]["knowmem_f"] = "33.1"
    run = write_run(tmp_path, doc)
    assert main(["report", str(run)]) == 2
    line = error_line(capsys)
    assert "results.json: reference.retrain.scores.knowmem_f: expected a number (got '33.1')" in line
    assert not (run / "report").exists()


@pytest.mark.parametrize("flag, value", [("--utility-fraction", "1.2"), ("--privleak-tolerance", "-3")])
def test_bad_rule_flag_exits_2(tmp_path, doc, write_run, capsys, flag, value):
    run = write_run(tmp_path, doc)
    assert main(["report", str(run), flag, value]) == 2
    assert f"{flag[2:].replace('-', '_')}: must be" in error_line(capsys)  # the field, named
