"""``run.json`` has one record type: what is written is what is read back, and a damaged file is one DataError."""

from __future__ import annotations

import json

import pytest

from musebench.errors import DataError
from musebench.unlearn.record import RUN_SCHEMA_VERSION, RunRecord, read_run
from musebench.versions import package_versions


def test_written_record_reads_back_field_for_field(tmp_path):
    record = RunRecord(
        tmp_path,
        "npo_gdr",
        {"beta": 0.1, "alphas": [1.0]},
        model="models/target",
        corpus={"name": "c", "fingerprint": "f", "source": "s"},
        data={"steps_per_epoch": 3},
    )
    record.add_checkpoint("epoch-1")
    record.add_checkpoint("epoch-2")
    record.add_checkpoint("epoch-1")  # saved again (a resumed epoch): it moves to the end, once
    record.status, record.history = "complete", {"steps": [{"step": 1, "loss": 2.5}], "epochs": []}
    record.write()

    on_disk = json.loads((tmp_path / "run.json").read_text())
    assert next(iter(on_disk)) == "schema_version" and on_disk["schema_version"] == RUN_SCHEMA_VERSION
    assert "out_dir" not in on_disk  # where the file lives is not part of it (the run directory can move)
    assert on_disk["versions"] == package_versions()  # the one list of recorded packages
    assert on_disk["versions"]["torch"] and on_disk["versions"]["transformers"]
    again = RunRecord.read(tmp_path)
    assert again == record
    run = read_run(tmp_path)
    assert [c.label for c in run.checkpoints] == ["epoch-2", "epoch-1"]
    assert run.checkpoints[0].path == tmp_path / "epoch-2" and run.status == "complete"
    assert run.config == {"beta": 0.1, "alphas": [1.0]} and run.history["steps"][0]["loss"] == 2.5


def test_reading_adds_no_provenance_the_file_lacks(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"schema_version": 1, "method": "ga", "config": {}}))
    record = RunRecord.read(tmp_path)
    assert record.versions == {} and record.created == "" and record.checkpoints == []
    assert RunRecord.read(tmp_path / "nothing-here") is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "unreadable run record"),
        ('{"schema_version": 1, "config": {}}', "method"),
        ('{"schema_version": 1, "method": "ga", "config": []}', "'config' an object"),
        ('{"schema_version": 1, "method": "ga", "config": {}, "checkpoints": [{"label": "epoch-1"}]}', "'path'"),
        ('{"schema_version": 1, "method": "ga", "config": {}, "checkpoints": "epoch-1"}', "'path'"),
    ],
)
def test_damaged_record_is_one_data_error_naming_the_file(tmp_path, content, message):
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(DataError, match=message) as err:
        read_run(tmp_path)
    assert "run.json" in str(err.value)
