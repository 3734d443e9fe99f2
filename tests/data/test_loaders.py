"""Loading a release-layout directory: every file format, older names, folds, round trip, and each error."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from musebench.data import DataWarning, MissingDataWarning, QAPair, VerbMemRecord, load_corpus, save_corpus
from musebench.errors import DataError

from .conftest import FIXTURES, write_json, write_jsonl


def test_round_trip_gives_equal_corpus_and_fingerprint(corpus_dir, tiny_corpus):
    loaded = load_corpus(corpus_dir)
    assert loaded == dataclasses.replace(tiny_corpus, source=str(corpus_dir))
    assert loaded.fingerprint() == tiny_corpus.fingerprint()
    assert loaded.criteria() == [
        "verbmem_f",
        "knowmem_f",
        "knowmem_r",
        "privleak",
        "scalability",
        "sustainability",
    ]


def test_name_comes_from_metadata_then_directory(corpus_dir, minimal_dir):
    assert load_corpus(corpus_dir).name == "tiny"
    (corpus_dir / "corpus.json").unlink()
    shutil.move(corpus_dir, corpus_dir.with_name("renamed"))
    assert load_corpus(corpus_dir.with_name("renamed")).name == "renamed"
    with pytest.warns(MissingDataWarning):
        assert load_corpus(minimal_dir, name="given").name == "given"


def test_jsonl_files_load_like_json(corpus_dir, tiny_corpus):
    for attr in ("forget", "knowmem_forget_qa", "verbmem_forget"):
        path = (
            corpus_dir
            / {
                "forget": "raw/forget",
                "knowmem_forget_qa": "knowmem/forget_qa",
                "verbmem_forget": "verbmem/forget",
            }[attr]
        )
        values = json.loads(path.with_suffix(".json").read_text())
        path.with_suffix(".json").unlink()
        write_jsonl(path.with_suffix(".jsonl"), values)
    loaded = load_corpus(corpus_dir)
    assert loaded.fingerprint() == tiny_corpus.fingerprint()
    assert loaded.knowmem_forget_qa[0] == QAPair("Where was Alda Vorn born?", "Kestrel Bay")


def test_txt_documents_are_split_on_blank_lines(tmp_path):
    root = tmp_path / "c"
    (root / "raw").mkdir(parents=True)
    (root / "raw" / "forget.txt").write_text("First doc line one\nline two.\n\nSecond doc.\n\n\n", encoding="utf-8")
    (root / "raw" / "retain2.txt").write_text("Kept doc.", encoding="utf-8")
    (root / "scal").mkdir()
    (root / "scal" / "forget_1.txt").write_text("First doc line one\nline two.", encoding="utf-8")
    with pytest.warns(MissingDataWarning):
        corpus = load_corpus(root)
    assert corpus.forget == ["First doc line one\nline two.", "Second doc."]
    assert corpus.retain2 == ["Kept doc."]
    assert corpus.scal == {1: ["First doc line one\nline two."]}


def test_document_objects_with_text_field(minimal_dir):
    write_jsonl(minimal_dir / "raw" / "holdout.jsonl", [{"text": "Held out one.", "id": 3}, "Held out two."])
    with pytest.warns(MissingDataWarning):
        assert load_corpus(minimal_dir).holdout == ["Held out one.", "Held out two."]


def test_committed_release_fixture_with_older_names_and_txt():
    with pytest.warns(MissingDataWarning, match="scalability"):
        corpus = load_corpus(FIXTURES / "legacy-release")
    assert len(corpus.forget) == 3 and len(corpus.retain2) == 2 and len(corpus.holdout) == 2
    assert corpus.knowmem_retain_qa == [
        QAPair("Who repairs clocks in Quillan Ridge?", "Dario Fenn"),
        QAPair("What does Cora Lutz pilot?", "river boats"),
    ]
    assert len(corpus.privleak_retain) == 1
    assert corpus.verbmem_forget[0].prompt.startswith("Alda Vorn")
    assert corpus.criteria() == ["verbmem_f", "knowmem_f", "knowmem_r", "privleak"]


@pytest.mark.parametrize(
    "old, new",
    [
        ("raw/retain2.json", "raw/retain.json"),
        ("knowmem/retain_qa.json", "knowmem/retain2_qa.json"),
        ("knowmem/retain_qa_icl.json", "knowmem/retain2_qa_icl.json"),
        ("privleak/retain.json", "privleak/retain2.json"),
    ],
)
def test_every_alternative_name_is_accepted(corpus_dir, tiny_corpus, old, new):
    (corpus_dir / old).rename(corpus_dir / new)
    assert load_corpus(corpus_dir).fingerprint() == tiny_corpus.fingerprint()


def test_both_names_present_warns_and_uses_the_layout_name(corpus_dir):
    write_json(corpus_dir / "knowmem" / "retain2_qa.json", [{"question": "other?", "answer": "x"}])
    with pytest.warns(DataWarning, match="retain2_qa.json"):
        corpus = load_corpus(corpus_dir)
    assert corpus.knowmem_retain_qa[0].question == "Where was Dario Fenn born?"


def test_folds_are_discovered_by_number(corpus_dir):
    write_json(corpus_dir / "scal" / "forget_10.json", ["a", "b"])
    write_jsonl(corpus_dir / "scal" / "forget_3.jsonl", ["a"])
    corpus = load_corpus(corpus_dir)
    assert list(corpus.scal) == [1, 2, 3, 10]
    assert corpus.forget_split("scal/forget_10") == ["a", "b"]


def test_missing_optional_parts_warn_naming_the_criteria(minimal_dir):
    with pytest.warns(MissingDataWarning) as record:
        corpus = load_corpus(minimal_dir)
    text = " ".join(str(w.message) for w in record)
    for crit in ("verbmem_f", "knowmem_f", "knowmem_r", "privleak", "scalability", "sustainability"):
        assert crit in text
    assert corpus.criteria() == []


# ---- errors: one DataError naming the file, the field and the record -------------------------------------


def _error(root) -> DataError:
    with pytest.raises(DataError) as info:
        load_corpus(root)
    return info.value


def test_missing_required_split(corpus_dir):
    (corpus_dir / "raw" / "retain2.json").unlink()
    err = _error(corpus_dir)
    assert err.file.endswith("raw/retain2.json") and "missing required split 'raw/retain2'" in str(err)


def test_empty_required_split(corpus_dir):
    write_json(corpus_dir / "raw" / "forget.json", [])
    err = _error(corpus_dir)
    assert err.file.endswith("raw/forget.json") and "empty" in err.message


def test_malformed_json_names_line_and_column(corpus_dir):
    (corpus_dir / "knowmem" / "forget_qa.json").write_text('[\n  {"question": "a", "answer": "b"},\n  {"q" 5}\n]')
    err = _error(corpus_dir)
    assert err.file.endswith("knowmem/forget_qa.json")
    assert "line 3, column 8: Expecting ':' delimiter" in err.message


def test_malformed_jsonl_names_the_line(corpus_dir):
    (corpus_dir / "raw" / "holdout.json").unlink()
    (corpus_dir / "raw" / "holdout.jsonl").write_text('"one"\n\n"two"\n{"text": \n')
    err = _error(corpus_dir)
    assert err.file.endswith("raw/holdout.jsonl") and "line 4" in err.message


def test_json_object_instead_of_list(corpus_dir):
    write_json(corpus_dir / "verbmem" / "forget.json", {"prompt": "a", "gt": "b"})
    err = _error(corpus_dir)
    assert "expected a JSON list" in err.message and "got a JSON object" in err.message


@pytest.mark.parametrize(
    "rel, record, field",
    [
        ("knowmem/forget_qa.json", {"question": "Who?"}, "answer"),
        ("knowmem/retain_qa_icl.json", {"answer": "x"}, "question"),
        ("verbmem/forget.json", {"prompt": "p"}, "gt"),
        ("verbmem/forget.json", {"gt": "g"}, "prompt"),
    ],
)
def test_record_missing_a_field_names_field_and_index(corpus_dir, rel, record, field):
    records = json.loads((corpus_dir / rel).read_text())
    write_json(corpus_dir / rel, records + [record])
    err = _error(corpus_dir)
    assert err.file.endswith(rel) and err.field == f"[{len(records)}].{field}" and err.message == "missing"
    assert str(err) == f"{err.file}: [{len(records)}].{field}: missing"


def test_non_string_value(corpus_dir):
    write_json(corpus_dir / "knowmem" / "forget_qa.json", [{"question": "When?", "answer": 1987}])
    err = _error(corpus_dir)
    assert err.field == "[0].answer" and err.value == 1987 and err.message == "expected a string"


def test_non_string_document(corpus_dir):
    write_json(corpus_dir / "raw" / "forget.json", ["fine", ["not", "a", "string"]])
    err = _error(corpus_dir)
    assert err.field == "[1]" and err.value == ["not", "a", "string"]
    assert err.message == "expected a string, or an object with a 'text' string"


def test_record_of_wrong_type(corpus_dir):
    write_json(corpus_dir / "knowmem" / "forget_qa.json", ["just a string"])
    err = _error(corpus_dir)
    assert err.field == "[0]" and err.message == "expected an object with question, answer"


def test_invalid_utf8_names_byte_and_line(corpus_dir):
    (corpus_dir / "raw" / "holdout.json").write_bytes(b'[\n"caf\xe9"]')
    err = _error(corpus_dir)
    assert err.file.endswith("raw/holdout.json") and "invalid UTF-8 at byte 6 (line 2)" in err.message


def test_same_split_in_two_formats_is_ambiguous(corpus_dir):
    (corpus_dir / "raw" / "forget.txt").write_text("another forget doc")
    assert "stored twice" in _error(corpus_dir).message


def test_txt_is_refused_for_qa_records(corpus_dir):
    (corpus_dir / "knowmem" / "forget_qa.json").unlink()
    (corpus_dir / "knowmem" / "forget_qa.txt").write_text("Who? Alda.")
    err = _error(corpus_dir)
    assert err.file.endswith("knowmem/forget_qa.txt") and ".json or .jsonl" in err.message


def test_missing_directory_and_plain_file(tmp_path):
    with pytest.raises(DataError, match="corpus directory not found"):
        load_corpus(tmp_path / "nowhere")
    (tmp_path / "f.json").write_text("[]")
    with pytest.raises(DataError, match="got a file"):
        load_corpus(tmp_path / "f.json")


def test_saved_and_loaded_with_records_types(tmp_path, tiny_corpus):
    out = save_corpus(tiny_corpus, tmp_path / "again")
    corpus = load_corpus(out)
    assert all(isinstance(r, VerbMemRecord) for r in corpus.verbmem_forget)
    assert all(isinstance(q, QAPair) for q in corpus.knowmem_retain_qa_icl)
