"""The C5 / C6 fold layout of the release: fold 1 = raw/forget, fold documents never holdout, fold questions."""

from __future__ import annotations

from musebench.data import QAPair, load_corpus, save_corpus
from musebench.data.validate import validate_directory

from .conftest import write_json


def test_fold_questions_round_trip_and_validate_clean(tmp_path, tiny_corpus):
    from dataclasses import replace

    qa = [QAPair("Where was Gil Marrow born?", "Kestrel Bay")]
    corpus = replace(
        tiny_corpus,
        scal_qa={1: tiny_corpus.knowmem_forget_qa, 2: tiny_corpus.knowmem_forget_qa + qa},
        sust_qa={1: tiny_corpus.knowmem_forget_qa, 2: qa},
    )
    root = save_corpus(corpus, tmp_path / "c")
    assert (root / "knowmem" / "sust" / "forget_2_qa.json").is_file()
    loaded = load_corpus(root)
    assert loaded.sust_qa == {1: tiny_corpus.knowmem_forget_qa, 2: qa}
    assert loaded.fold_questions("scal/forget_2") == tiny_corpus.knowmem_forget_qa + qa
    assert loaded.fingerprint() == corpus.fingerprint() != tiny_corpus.fingerprint()
    report = validate_directory(root)
    assert list(report) == []
    rows = {r.split: r.records for r in report.rows}
    assert rows["knowmem/sust/forget_2_qa"] == 1


def test_corpus_without_fold_questions_keeps_its_fingerprint(tiny_corpus):
    assert "scal_qa" not in tiny_corpus.to_dict() and tiny_corpus.fold_questions("sust/forget_2") == []


def test_fold_one_other_than_forget_is_a_warning(corpus_dir, tiny_corpus):
    write_json(corpus_dir / "sust" / "forget_1.json", tiny_corpus.forget[:1])
    report = validate_directory(corpus_dir)
    assert report.ok
    fold_warnings = [w.file for w in report.warnings if "fold 1 is the forget set" in w.message]
    assert fold_warnings == ["sust/forget_1.json"]  # (plus the edited-fingerprint warning on corpus.json)


def test_fold_document_in_holdout_is_an_error(corpus_dir, tiny_corpus):
    write_json(corpus_dir / "raw" / "holdout.json", tiny_corpus.holdout + [tiny_corpus.sust[2][0]])
    report = validate_directory(corpus_dir)
    errors = [(p.file, "also in raw/holdout" in p.message) for p in report.errors]
    assert ("sust/forget_2.json", True) in errors and ("scal/forget_2.json", True) in errors


def test_stray_file_and_questions_without_a_fold_are_warnings(corpus_dir, tiny_corpus):
    write_json(corpus_dir / "knowmem" / "scal" / "forget_7_qa.json", [{"question": "Q?", "answer": "A"}])
    write_json(corpus_dir / "knowmem" / "scal" / "fold_2.json", [])
    report = validate_directory(corpus_dir)
    assert report.ok
    messages = {(w.file, w.message.split(",")[0]) for w in report.warnings}
    assert ("knowmem/scal/forget_7_qa.json", "questions for scal fold 7") in messages
    assert ("knowmem/scal/fold_2.json", "unrecognised file") in messages
