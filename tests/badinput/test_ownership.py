"""Output directories are owned by kind: the mark says which command wrote a directory and which entries it
wrote; a command replaces only its own kind's directory, never a user's file, and every writer takes the lock."""

from __future__ import annotations

import json

import pytest

from musebench.errors import ConfigError
from musebench.io import (
    MARK_FORMAT,
    OWNER_MARK,
    atomic_directory,
    check_output_dir,
    foreign_entries,
    infer_kind,
    kept_entries,
    lock_is_held,
    output_dir,
    read_mark,
)


def _v1(path, **extra):
    """A directory marked the way musebench marked before the kind was recorded (format 1)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / OWNER_MARK).write_text(json.dumps({"written_by": "musebench", "pid": 1, "not_ours": [], **extra}))
    return path


def test_the_mark_records_kind_format_and_the_entries_written(tmp_path):
    out = tmp_path / "corpus"
    with output_dir(out, kind="corpus") as claimed:
        (claimed / "synthetic.json").write_text("{}")
        (claimed / "raw").mkdir()
    mark = json.loads((out / OWNER_MARK).read_text())
    assert mark["kind"] == "corpus" and mark["format"] == MARK_FORMAT
    assert mark["files"] == ["raw", "synthetic.json"] and mark["not_ours"] == []
    (out / "notes.txt").write_text("mine")  # added by the user afterwards: not in the list, so not ours
    assert foreign_entries(out) == ["notes.txt"]


@pytest.mark.parametrize(
    "kind, records, command",
    [
        ("experiment", {"stages": None, "results.json": "{}"}, "musebench run"),
        ("evaluation", {"summary.json": "{}"}, "musebench eval"),
        ("model", {"build.json": "{}", "config.json": "{}"}, "musebench build"),
        ("unlearning run", {"run.json": "{}"}, "musebench unlearn"),
        ("audit", {"audit.json": json.dumps({"kind": "musebench-audit"})}, "musebench audit"),
        ("attack", {"robustness.json": json.dumps({"attack": "quantize"})}, "musebench attack"),
    ],
)
def test_another_kinds_directory_is_refused_naming_kind_command_and_way_out(tmp_path, kind, records, command):
    out = _v1(tmp_path / "d")
    for name, text in records.items():
        (out / name).mkdir() if text is None else (out / name).write_text(text)
    assert read_mark(out).kind == kind  # a format-1 mark gets its kind from the records
    before = sorted(p.name for p in out.iterdir())
    for force in (False, True):  # --force never turns another command's directory into this one's
        with pytest.raises(ConfigError) as err, output_dir(out, kind="corpus", force=force):
            pass
        line = str(err.value)
        assert str(out) in line and f"holds a musebench {kind}" in line and f"`{command}`" in line
        assert "choose another --out" in line and "\n" not in line
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_users_file_named_like_a_musebench_record_does_not_make_the_directory_ours(tmp_path):
    (tmp_path / "robustness.json").write_text(json.dumps({"my": "numbers"}))
    assert infer_kind(tmp_path) is None
    with pytest.raises(ConfigError, match=r"did not write \(robustness.json\)"):
        check_output_dir(tmp_path, kind="attack", writes=("robustness.json",))
    with pytest.raises(ConfigError, match="robustness.json, which musebench did not write and would overwrite"):
        check_output_dir(tmp_path, kind="attack", writes=("robustness.json",), force=True)


def test_results_of_the_same_kind_are_replaced_only_with_force(tmp_path):
    out = tmp_path / "att"
    with output_dir(out, kind="attack", writes=("robustness.json",), results=("robustness.json",)) as claimed:
        (claimed / "robustness.json").write_text(json.dumps({"attack": "quantize"}))
    with pytest.raises(ConfigError, match="holds the results of an earlier attack.*--force"):
        check_output_dir(out, kind="attack", results=("robustness.json",))
    assert check_output_dir(out, kind="attack", results=("robustness.json",), force=True) == out


def test_a_replaced_directory_keeps_a_users_file_and_never_overwrites_one(tmp_path):
    out = tmp_path / "audit"
    with output_dir(out, kind="audit") as claimed, atomic_directory(claimed, keep=kept_entries(claimed)) as tmp:
        (tmp / "audit.json").write_text("1")
    (out / "notes.txt").write_text("mine")
    with (
        output_dir(out, kind="audit", force=True) as claimed,
        atomic_directory(claimed, keep=kept_entries(claimed)) as tmp,
    ):
        (tmp / "audit.json").write_text("2")
    assert (out / "notes.txt").read_text() == "mine" and (out / "audit.json").read_text() == "2"
    # the user's file under a name the command writes, found only once the work is done: refused, kept
    (out / "audit.md").write_text("my own summary")
    mark = json.loads((out / OWNER_MARK).read_text())
    assert "audit.md" not in mark["files"]
    with (
        pytest.raises(ConfigError, match="audit.md, which musebench did not write"),
        output_dir(out, kind="audit", force=True) as claimed,
        atomic_directory(claimed, keep=kept_entries(claimed)) as tmp,
    ):
        (tmp / "audit.md").write_text("ours")
    assert (out / "audit.md").read_text() == "my own summary"


def test_an_old_audit_directory_keeps_the_note_a_user_added(tmp_path):
    """An audit directory from before the mark (no mark at all): its five files are the audit's, a sixth is
    the user's (refused without --force, carried over with it)."""
    out = tmp_path / "a"
    out.mkdir()
    (out / "audit.json").write_text(json.dumps({"kind": "musebench-audit"}))
    (out / "notes.txt").write_text("what I told legal")
    assert foreign_entries(out) == ["notes.txt"]
    with pytest.raises(ConfigError, match=r"did not write \(notes.txt\)"):
        check_output_dir(out, kind="audit")
    assert "notes.txt" in kept_entries(out)


@pytest.mark.parametrize("value", ["", "  ", "."])
def test_empty_or_current_directory_out_is_refused(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="--out") as err:
        check_output_dir(value, kind="evaluation")
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_lock_is_held_tells_a_live_writer_and_creates_nothing(tmp_path):
    from filelock import FileLock

    lock_file = tmp_path / ".musebench-run.lock"
    assert not lock_is_held(lock_file) and not lock_file.exists()
    held = FileLock(str(lock_file))
    held.acquire()
    try:
        assert lock_is_held(lock_file)
    finally:
        held.release()
    assert not lock_is_held(lock_file)


def test_every_command_claims_its_output_through_io_with_a_kind():
    """The one mechanism: no command replaces or removes an output directory by itself."""
    import re
    from pathlib import Path

    import musebench

    root = Path(musebench.__file__).parent
    for path in sorted((root / "commands").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "shutil.rmtree" not in text, path
        for call in re.findall(r"(?:output_dir|check_output_dir)\(([^)]*)\)", text):
            if "--cache-dir" in call:
                continue
            assert "kind" in call or "_out_rules" in call, (path.name, call)


def test_a_killed_writers_entries_stay_its_own(tmp_path):
    """kill -9 leaves the mark open (written at the claim, before the entries): the re-run resumes, while a
    file that was there before the claim is still the user's."""
    from musebench.io import write_mark

    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with output_dir(out, kind="unlearning run", force=True):
        pass
    write_mark(out, "unlearning run", ["notes.txt"], open=True)  # the next claim ... then killed mid-run
    (out / "checkpoints").mkdir()
    (out / "run.json").write_text("{}")
    assert foreign_entries(out) == ["notes.txt"]
    assert check_output_dir(out, kind="unlearning run") == out  # no --force needed to resume
    with output_dir(out, kind="unlearning run"):
        pass
    assert json.loads((out / OWNER_MARK).read_text())["files"] == ["checkpoints", "run.json"]


def test_a_users_results_json_is_not_an_experiment(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"accuracy": 0.9}))
    assert infer_kind(tmp_path) is None
    with pytest.raises(ConfigError, match=r"did not write \(results.json\)"):
        check_output_dir(tmp_path, kind="experiment")
    (tmp_path / "results.json").write_text(json.dumps({"schema_version": 1, "methods": {}}))
    assert infer_kind(tmp_path) == "experiment"  # a run directory from before the mark
