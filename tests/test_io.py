"""The shared JSON reader: one error that names the file for each way a JSON file can be unusable."""

from __future__ import annotations

import pytest

from musebench.errors import DataError
from musebench.io import atomic_write_json, read_json


def test_read_json_round_trips_an_atomic_write(tmp_path):
    path = atomic_write_json(tmp_path / "a.json", {"x": [1, 2.5, "é"]})
    assert read_json(path) == {"x": [1, 2.5, "é"]}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary file left behind


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such thing here"),
        (b'{"x": 1,\n "y": }', r"not valid JSON \(line 2, column 7"),
        (b'{"x": "\xff"}', "not UTF-8 text"),
    ],
)
def test_read_json_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as err:
        read_json(path, missing="no such thing here")
    assert str(path) in str(err.value)


# ---------------------------------------------------------------- output directories: refuse, lock, mark


def test_a_directory_of_someone_elses_files_is_refused_and_kept(tmp_path):
    from musebench.errors import ConfigError
    from musebench.io import output_dir

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"notes.txt.*--force"), output_dir(tmp_path):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing written, nothing removed


def test_force_writes_beside_foreign_files_and_remembers_them(tmp_path):
    from musebench.io import OWN_ENTRIES, atomic_directory, foreign_entries, output_dir

    out = tmp_path / "corpus"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    for _ in range(2):  # the second claim (no --force) finds our mark and still keeps the user's file
        with output_dir(out, force=True) as claimed:
            keep = OWN_ENTRIES + tuple(foreign_entries(claimed))
            with atomic_directory(claimed, keep=keep) as tmp:
                (tmp / "ours.json").write_text("{}")
    assert (out / "notes.txt").read_text() == "mine" and (out / "ours.json").is_file()
    assert foreign_entries(out) == ["notes.txt"]


def test_a_file_is_never_replaced_by_a_directory(tmp_path):
    from musebench.errors import ConfigError
    from musebench.io import atomic_directory, output_dir

    target = tmp_path / "results"
    target.write_text("a user's file")
    with pytest.raises(ConfigError, match="not a directory"), output_dir(target):
        pass
    with pytest.raises(ConfigError, match="not a directory"), atomic_directory(target):
        pass
    assert target.read_text() == "a user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no hidden .results.old either


def test_a_failed_command_leaves_no_directory_behind(tmp_path):
    from musebench.io import output_dir

    with pytest.raises(RuntimeError), output_dir(tmp_path / "a" / "b"):
        raise RuntimeError("failed before writing anything")
    assert list(tmp_path.iterdir()) == []


def test_a_live_writer_is_refused_and_a_killed_ones_lock_is_taken_over(tmp_path):
    """Two writers on one directory: the second fails at once naming the first; after kill -9 of the first,
    its lock (a kernel flock, released with the process) is taken over."""
    import os
    import signal
    import subprocess
    import sys

    from musebench.errors import ConfigError
    from musebench.io import output_dir

    code = (
        "import sys, time; from musebench.io import output_dir\n"
        "with output_dir(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(ConfigError, match=f"another musebench process \\(pid {holder.pid}\\)"),
            output_dir(tmp_path / "out"),
        ):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with output_dir(tmp_path / "out") as out:
        (out / "result.json").write_text("{}")
    assert (tmp_path / "out" / "result.json").is_file()
