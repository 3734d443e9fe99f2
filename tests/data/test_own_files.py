"""A practitioner's own files: any mix of .txt/.json/.jsonl files and folders of .txt documents."""

from __future__ import annotations

import pytest

from musebench.data import DataWarning, MissingDataWarning, QAPair, load_corpus_from_files
from musebench.errors import DataError

from .conftest import write_json, write_jsonl


@pytest.fixture
def own(tmp_path):
    docs = tmp_path / "forget_docs"
    docs.mkdir()
    # File-name order, not creation order: b.txt is written first but read second.
    (docs / "b.txt").write_text("Second forget document.\n", encoding="utf-8")
    (docs / "a.txt").write_text("First forget document.", encoding="utf-8")
    (docs / "notes.md").write_text("ignored: not a .txt file", encoding="utf-8")
    (tmp_path / "retain.txt").write_text("Retain one.\n\nRetain two.\n", encoding="utf-8")
    write_json(tmp_path / "holdout.json", ["Holdout one.", "Holdout two."])
    write_jsonl(tmp_path / "forget_qa.jsonl", [{"question": "Which is first?", "answer": "a"}])
    write_json(tmp_path / "retain_qa.json", [{"question": "How many retain docs?", "answer": "two"}])
    write_json(tmp_path / "verbmem.json", [{"prompt": "First forget", "gt": " document."}])
    return tmp_path


def test_all_parts_given(own):
    with pytest.warns(MissingDataWarning) as record:
        corpus = load_corpus_from_files(
            forget=own / "forget_docs",
            retain=own / "retain.txt",
            holdout=own / "holdout.json",
            forget_qa=own / "forget_qa.jsonl",
            retain_qa=own / "retain_qa.json",
            verbmem=own / "verbmem.json",
            name="mine",
        )
    assert corpus.name == "mine"
    assert corpus.forget == ["First forget document.", "Second forget document."]
    assert corpus.retain2 == ["Retain one.", "Retain two."]
    assert corpus.knowmem_forget_qa == [QAPair("Which is first?", "a")]
    # No privleak files: PrivLeak uses the raw forget documents against the holdout.
    assert corpus.privleak_forget == corpus.forget and corpus.privleak_holdout == [
        "Holdout one.",
        "Holdout two.",
    ]
    assert corpus.criteria() == ["verbmem_f", "knowmem_f", "knowmem_r", "privleak"]
    message = " ".join(str(w.message) for w in record)
    assert "scalability" in message and "privleak" not in message


def test_only_forget_and_retain_names_every_switched_off_criterion(own):
    with pytest.warns(MissingDataWarning) as record:
        corpus = load_corpus_from_files(forget=own / "forget_docs", retain=own / "retain.txt")
    assert corpus.criteria() == []
    message = str(record[0].message)
    for crit, part in [
        ("verbmem_f", "verbmem_forget"),
        ("knowmem_f", "knowmem_forget_qa"),
        ("knowmem_r", "knowmem_retain_qa"),
        ("privleak", "privleak_holdout"),
    ]:
        assert f"{crit} (no" in message and part in message


def test_holdout_leaking_forget_documents_is_warned(own):
    write_json(own / "leaky.json", ["  FIRST forget\ndocument. ", "Clean holdout."])
    with pytest.warns(DataWarning) as record:
        load_corpus_from_files(forget=own / "forget_docs", retain=own / "retain.txt", holdout=own / "leaky.json")
    leak = [w for w in record if not issubclass(w.category, MissingDataWarning)]
    assert len(leak) == 1 and "1 holdout document(s) also appear in forget" in str(leak[0].message)


def test_errors_name_the_file(own):
    with pytest.raises(DataError, match="file not found"):
        load_corpus_from_files(forget=own / "absent.txt", retain=own / "retain.txt")
    (own / "empty.txt").write_text("\n\n")
    with pytest.raises(DataError, match="required split is empty"):
        load_corpus_from_files(forget=own / "forget_docs", retain=own / "empty.txt")
    with pytest.raises(DataError, match="needs a .json or .jsonl file of records, not a folder"):
        load_corpus_from_files(forget=own / "forget_docs", retain=own / "retain.txt", forget_qa=own / "forget_docs")
    with pytest.raises(DataError, match="not plain .txt"):
        load_corpus_from_files(forget=own / "forget_docs", retain=own / "retain.txt", retain_qa=own / "retain.txt")
    empty_dir = own / "nothing"
    empty_dir.mkdir()
    with pytest.raises(DataError, match="no .txt documents"):
        load_corpus_from_files(forget=empty_dir, retain=own / "retain.txt")
    write_json(own / "bad_qa.json", [{"question": "q", "answer": "a"}, {"question": "q2"}])
    with pytest.raises(DataError) as info:
        load_corpus_from_files(forget=own / "forget_docs", retain=own / "retain.txt", forget_qa=own / "bad_qa.json")
    assert info.value.field == "[1].answer" and info.value.message == "missing"
    assert info.value.file == str(own / "bad_qa.json")
