"""Reading DOCS (.json, .jsonl, .txt, folder of .txt) and refusing holdouts that overlap the forget set."""

from __future__ import annotations

import json

import pytest

from musebench.audit.documents import DocumentSet, check_overlap, load_documents
from musebench.errors import DataError


def test_every_supported_source_reads_the_same_documents(doc_files, audit_docs, tmp_path):
    txt = tmp_path / "forget.txt"
    txt.write_text("\n\n".join(audit_docs["forget"]), encoding="utf-8")
    for source in (doc_files / "forget.json", doc_files / "forget_txt", txt):
        assert list(load_documents(source).documents) == audit_docs["forget"]
    assert list(load_documents(doc_files / "holdout.jsonl", "holdout").documents) == audit_docs["holdout"]


def test_fingerprint_depends_on_content_not_on_format(doc_files):
    assert (
        load_documents(doc_files / "forget.json").fingerprint()
        == load_documents(doc_files / "forget_txt").fingerprint()
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ("[]", "no forget documents"),
        ('["a real document", "   "]', r"forget\.json: \[1\]: empty; remove empty forget documents"),
        ('{"not": "a list"}', "expected a JSON list"),
        ("[1, 2", "malformed JSON"),
    ],
)
def test_bad_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "forget.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        load_documents(path)
    assert err.value.file == str(path)


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_documents(tmp_path / "nope.json")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9 au lait")
    with pytest.raises(DataError, match="invalid UTF-8") as err:
        load_documents(bad)
    assert err.value.file == str(bad)


def test_holdout_equal_to_a_forget_document_after_normalisation(audit_docs):
    forget = DocumentSet("forget.json", tuple(audit_docs["forget"]))
    copy = "  " + audit_docs["forget"][3].upper().replace(" ", "  \n") + " "
    holdout = DocumentSet("holdout.json", (audit_docs["holdout"][0], copy))
    with pytest.raises(DataError, match="also appear in the forget set .*holdout document 1") as err:
        check_overlap(forget, holdout)
    assert err.value.file == "holdout.json"


def test_holdout_largely_copied_from_the_forget_set(audit_docs):
    forget = DocumentSet("forget.json", tuple(audit_docs["forget"]))
    # two forget documents glued together with a new sentence: not equal, but a copy
    stitched = audit_docs["forget"][1] + " " + audit_docs["forget"][2] + " Nobody saw it coming."
    with pytest.raises(DataError, match="share at least 50%"):
        check_overlap(forget, DocumentSet("h.json", (stitched,)))


def test_similar_but_distinct_documents_pass(audit_docs):
    check_overlap(DocumentSet("f", tuple(audit_docs["forget"])), DocumentSet("h", tuple(audit_docs["holdout"])))


def test_jsonl_objects_without_text_are_refused(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps({"body": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="text"):
        load_documents(path, "holdout")


def test_documents_may_name_their_unit(tmp_path):
    import json

    from musebench.audit.documents import load_documents
    from musebench.errors import DataError

    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": f"doc {i}", "person": f"p{i // 2}"}) + "\n" for i in range(4)))
    docs = load_documents(path)
    assert docs.groups == ("p0", "p0", "p1", "p1") and docs.units() == 2
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(["a", "b"]))
    assert load_documents(plain).groups is None and load_documents(plain).units() == 2
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(json.dumps({"text": "a", "group": "x"}) + "\n" + json.dumps({"text": "b"}) + "\n")
    with pytest.raises(DataError, match="names no group"):
        load_documents(mixed)


def test_units_from_a_corpus_label_documents_by_their_text(tmp_path):
    """``--units-from DIR``: a mini corpus names every forget and holdout document's person."""
    from musebench.audit.documents import DocumentSet, with_units
    from musebench.data import load_corpus
    from musebench.errors import DataError
    from musebench.models.mini_corpus import write_mini_corpus

    corpus = load_corpus(write_mini_corpus("news-mini", "tiny", 0, tmp_path / "c"))
    units = corpus.text_units()
    forget = with_units(DocumentSet("f", tuple(corpus.forget)), units, "c")
    holdout = with_units(DocumentSet("h", tuple(corpus.holdout)), units, "c")
    assert forget.units() == holdout.units() == 8 and len(forget) == len(holdout) == 24
    assert all(person in doc for doc, person in zip(forget.documents, forget.groups))
    assert not set(forget.groups) & set(holdout.groups)
    with pytest.raises(DataError, match="1 of 2 documents have no unit there"):
        with_units(DocumentSet("x", (corpus.forget[0], "a document of another corpus")), units, "c")
    with pytest.raises(DataError, match="already name their units"):
        with_units(forget, units, "c")
