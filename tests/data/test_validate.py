"""validate_directory: every problem kind on a broken copy of a valid corpus, and all of them at once."""

from __future__ import annotations

import json

import pytest

from musebench.data import Problem, save_corpus
from musebench.data.validate import validate_directory

from .conftest import FIXTURES, write_json


def only_error(report) -> Problem:
    assert len(report.errors) == 1, [str(p) for p in report.errors]
    assert not report.ok
    return report.errors[0]


def test_valid_corpus_has_no_problem_and_full_summary(corpus_dir, tiny_corpus):
    report = validate_directory(corpus_dir)
    assert report.ok and list(report) == [] and len(report) == 0
    assert report.criteria == tiny_corpus.criteria()
    rows = {r.split: r for r in report.rows}
    assert rows["raw/forget"].records == 2
    assert rows["raw/forget"].characters == sum(map(len, tiny_corpus.forget))
    q = tiny_corpus.knowmem_forget_qa
    assert rows["knowmem/forget_qa"].characters == sum(len(p.question) + 1 + len(p.answer) for p in q)
    assert rows["scal/forget_2"].records == 3 and rows["raw/retain2"].tokens is None


def test_token_counts_with_a_tokenizer(corpus_dir, tiny_corpus, tiny_tokenizer):
    rows = {r.split: r for r in validate_directory(corpus_dir, tokenizer=tiny_tokenizer).rows}
    expected = sum(len(tiny_tokenizer(d, add_special_tokens=False)["input_ids"]) for d in tiny_corpus.holdout)
    assert rows["raw/holdout"].tokens == expected > 0


def test_missing_required_split(corpus_dir):
    (corpus_dir / "raw" / "forget.json").unlink()
    err = only_error(validate_directory(corpus_dir))
    assert err.file == "raw/forget.json" and "missing required split 'raw/forget'" in err.message


def test_older_retain_name_counts_as_present(corpus_dir):
    (corpus_dir / "raw" / "retain2.json").rename(corpus_dir / "raw" / "retain.json")
    assert validate_directory(corpus_dir).ok


def test_empty_required_and_optional_split(corpus_dir):
    write_json(corpus_dir / "raw" / "retain2.json", [])
    write_json(corpus_dir / "knowmem" / "forget_qa_icl.json", [])
    report = validate_directory(corpus_dir)
    err = only_error(report)
    assert (err.file, err.message) == ("raw/retain2.json", "required split is empty")
    assert any(w.file == "knowmem/forget_qa_icl.json" and "no records" in w.message for w in report.warnings)


def test_wrong_json_type(corpus_dir):
    write_json(corpus_dir / "privleak" / "holdout.json", "one string")
    err = only_error(validate_directory(corpus_dir))
    assert err.file == "privleak/holdout.json" and "got a JSON string" in err.message


def test_malformed_json(corpus_dir):
    (corpus_dir / "knowmem" / "retain_qa.json").write_text('[{"question": "q", "answer": "a"},]')
    err = only_error(validate_directory(corpus_dir))
    assert err.file == "knowmem/retain_qa.json" and "line 1, column 35: Expecting value" in err.message


def test_records_missing_fields_are_all_reported(corpus_dir):
    write_json(
        corpus_dir / "verbmem" / "forget.json",
        [{"prompt": "p"}, {"prompt": "p", "gt": "g"}, {"gt": "g"}, {"prompt": "p", "gt": 3}],
    )
    report = validate_directory(corpus_dir)
    found = [(p.field, p.message) for p in report.errors]
    assert found == [
        ("[0].gt", "missing"),
        ("[2].prompt", "missing"),
        ("[3].gt", "expected a string (got 3)"),
    ]
    assert {r.split: r.records for r in report.rows}["verbmem/forget"] == 1


def test_non_string_values(corpus_dir):
    write_json(corpus_dir / "knowmem" / "forget_qa.json", [{"question": ["a"], "answer": None}])
    fields = [(p.field, p.message) for p in validate_directory(corpus_dir).errors]
    assert fields == [
        ("[0].question", "expected a string (got ['a'])"),
        ("[0].answer", "missing"),
    ]


def test_invalid_utf8(corpus_dir):
    (corpus_dir / "raw" / "retain1.json").write_bytes(b'["ok",\n "bad \xff byte"]')
    err = only_error(validate_directory(corpus_dir))
    assert err.file == "raw/retain1.json" and err.message.startswith(
        "invalid UTF-8 at byte 13 (line 2): invalid start byte"
    )


def test_forget_holdout_leakage_after_normalisation(corpus_dir, tiny_corpus):
    leaked = "  " + tiny_corpus.forget[1].upper().replace(" ", "\n ") + " "
    write_json(corpus_dir / "raw" / "holdout.json", tiny_corpus.holdout + [leaked])
    err = only_error(validate_directory(corpus_dir))
    assert err.file == "raw/holdout.json"
    assert err.message.startswith("1 document(s) also in raw/forget.json") and "record 1" in err.message


def test_privleak_leakage(corpus_dir, tiny_corpus):
    write_json(corpus_dir / "privleak" / "holdout.json", tiny_corpus.privleak_forget[:1])
    err = only_error(validate_directory(corpus_dir))
    assert err.file == "privleak/holdout.json" and "also in privleak/forget.json" in err.message


def test_scal_folds_not_nested(corpus_dir, tiny_corpus):
    write_json(corpus_dir / "scal" / "forget_3.json", tiny_corpus.forget[1:])
    err = only_error(validate_directory(corpus_dir))
    assert err.file == "scal/forget_3.json"
    assert "forget_2 ⊂ forget_3" in err.message and "2 of 3 document(s)" in err.message


def test_sust_folds_overlap(corpus_dir, tiny_corpus):
    write_json(corpus_dir / "sust" / "forget_3.json", [tiny_corpus.forget[0], "A new document."])
    err = only_error(validate_directory(corpus_dir))
    assert err.file == "sust/forget_3.json" and "also in forget_1" in err.message


def test_fold_numbering_gap_and_unknown_file_are_warnings(corpus_dir, tiny_corpus):
    (corpus_dir / "sust" / "forget_2.json").rename(corpus_dir / "sust" / "forget_5.json")
    write_json(corpus_dir / "knowmem" / "forget_q.json", [])
    report = validate_directory(corpus_dir)
    assert report.ok
    messages = {(w.file, w.message) for w in report.warnings}
    assert ("sust", "fold numbers [1, 5] are not 1..2") in messages
    assert ("knowmem/forget_q.json", "unrecognised file, ignored (see the release layout)") in messages


def test_edited_files_no_longer_match_the_recorded_fingerprint(corpus_dir, tiny_corpus):
    write_json(corpus_dir / "raw" / "retain1.json", ["An edited retain document."])
    report = validate_directory(corpus_dir)
    assert report.ok
    [warning] = report.warnings
    assert warning.file == "corpus.json" and warning.field == "fingerprint"
    recorded = json.loads((corpus_dir / "corpus.json").read_text())["fingerprint"]
    assert recorded in warning.message


def test_missing_directory(tmp_path):
    err = only_error(validate_directory(tmp_path / "absent"))
    assert err.message == "corpus directory not found"


def test_broken_fixture_reports_every_problem_at_once():
    report = validate_directory(FIXTURES / "broken")
    errors = {(p.file, p.field) for p in report.errors}
    assert errors == {
        ("raw/forget.json", "[1]"),  # a number where a document belongs
        ("raw/retain2.json", None),  # required split missing
        ("raw/holdout.json", None),  # shares a document with forget
        ("knowmem/forget_qa.json", "[1].answer"),  # record without answer
        ("knowmem/retain_qa.json", None),  # malformed JSON
        ("verbmem/forget.json", None),  # an object, not a list
        ("privleak/holdout.json", None),  # invalid UTF-8
        ("scal/forget_2.json", None),  # not nested
        ("sust/forget_2.json", None),  # overlapping folds
    }
    assert ("raw/forgt.json", "unrecognised file, ignored (see the release layout)") in {
        (w.file, w.message) for w in report.warnings
    }


def test_committed_valid_fixture_passes():
    report = validate_directory(FIXTURES / "legacy-release")
    assert report.ok, [str(p) for p in report]
    assert [w.message for w in report.warnings] == [
        "corpus 'legacy-release' cannot compute: scalability (no scal); sustainability (no sust)"
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "txt"])
def test_other_formats_validate_the_same(tmp_path, tiny_corpus, fmt):
    root = save_corpus(tiny_corpus, tmp_path / "c")
    docs = json.loads((root / "raw" / "holdout.json").read_text())
    (root / "raw" / "holdout.json").unlink()
    text = "".join(json.dumps(d) + "\n" for d in docs) if fmt == "jsonl" else "\n\n".join(docs)
    (root / "raw" / f"holdout.{fmt}").write_text(text)
    assert validate_directory(root).ok
