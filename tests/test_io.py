"""The shared JSON reader: one error that names the file for each way a JSON file can be unusable."""

from __future__ import annotations

import pytest

from musebench.errors import DataError
from musebench.io import atomic_write_json, read_json


def test_read_json_round_trips_an_atomic_write(tmp_path):
    path = atomic_write_json(tmp_path / "a.json", {"x": [1, 2.5, "é"]})
    assert read_json(path) == {"x": [1, 2.5, "é"]}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary file left behind


@pytest.mark.parametrize("content, message", [
    (None, "no such thing here"),
    (b'{"x": 1,\n "y": }', r"not valid JSON \(line 2, column 7"),
    (b'{"x": "\xff"}', "not UTF-8 text"),
])
def test_read_json_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as err:
        read_json(path, missing="no such thing here")
    assert str(path) in str(err.value)
