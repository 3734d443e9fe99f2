"""Directories written before a format change: a clear "made by an older musebench" line, never a traceback."""

from __future__ import annotations

import json
import logging

import pytest

from musebench.cli import main
from musebench.errors import DataError, check_schema


def test_check_schema_names_older_newer_and_missing():
    check_schema({"schema_version": 3}, 3, "f.json", "results file")  # current: silent
    with pytest.raises(DataError, match=r"f.json: results file made by an older musebench \(schema_version none"):
        check_schema({"name": "x"}, 3, "f.json", "results file")
    with pytest.raises(DataError, match="older musebench .schema_version 2; this one reads 3"):
        check_schema({"schema_version": 2}, 3, "f.json", "results file")
    with pytest.raises(DataError, match="newer musebench"):
        check_schema({"schema_version": 9}, 3, "f.json", "results file")
    with pytest.raises(DataError, match="not a musebench results file"):
        check_schema([1, 2], 3, "f.json", "results file")


@pytest.mark.parametrize("command", [["report"], ["compare", "{dir}"]])
def test_report_and_compare_on_an_old_run_dir(command, tmp_path, capsys):
    old = tmp_path / "old-run"
    old.mkdir()
    (old / "results.json").write_text(json.dumps({"name": "x", "methods": {}}))  # before schema_version existed
    argv = [command[0], str(old), *[c.format(dir=old) for c in command[1:]]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "made by an older musebench" in err and "results.json" in err
    assert "Traceback" not in err


def test_old_unlearning_run_record(tmp_path):
    from musebench.unlearn.record import read_run

    (tmp_path / "run.json").write_text(json.dumps({"method": "ga", "checkpoints": []}))
    with pytest.raises(DataError, match="run record made by an older musebench"):
        read_run(tmp_path)


def test_old_eval_summary(tmp_path):
    from musebench.evaluate.result import EvalResult

    (tmp_path / "summary.json").write_text(json.dumps({"scores": {"verbmem_f": 1.0}}))
    with pytest.raises(DataError, match="evaluation summary made by an older musebench"):
        EvalResult.load(tmp_path)


def test_old_stage_marker_is_redone_with_a_warning(tmp_path, caplog):
    from musebench.experiment.stages import StageStore

    store = StageStore(tmp_path)
    first = store.run("corpus", {"a": 1}, lambda: {"n": 1})
    marker = store.marker_path("corpus")
    doc = json.loads(marker.read_text())
    doc.pop("version")
    marker.write_text(json.dumps(doc))
    with caplog.at_level(logging.WARNING, logger="musebench.experiment.stages"):
        again = store.run("corpus", {"a": 1}, lambda: {"n": 2})
    assert first.result == {"n": 1} and again.result == {"n": 2} and not again.cached
    assert "older musebench" in caplog.text
