"""File readers: every format round-trips documents; collect mode keeps going where strict mode stops."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musebench.data import QAPair
from musebench.data.files import ProblemSink, parse_items, records_from_items, split_txt_documents
from musebench.errors import DataError

any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
# A .txt document cannot contain a blank line and loses surrounding whitespace (that is the format).
txt_doc = any_text.map(lambda s: s.replace("\r", "").replace("\n\n", "\n").strip()).filter(
    lambda s: s and "\n\n" not in s and not s.startswith("\n")
)


@settings(max_examples=40, deadline=None)
@given(st.lists(any_text, max_size=6))
def test_json_and_jsonl_round_trip_any_string(tmp_path_factory, docs):
    root = tmp_path_factory.mktemp("rt")
    (root / "a.json").write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    (root / "a.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    assert parse_items(root / "a.json") == docs
    assert parse_items(root / "a.jsonl") == docs


@settings(max_examples=60, deadline=None)
@given(st.lists(txt_doc, max_size=6))
def test_txt_round_trip(docs):
    assert split_txt_documents("\n\n".join(docs)) == docs
    assert split_txt_documents("\r\n\r\n".join(d.replace("\n", "\r\n") for d in docs)) == docs


def test_bom_is_accepted_and_unknown_suffix_refused(tmp_path):
    (tmp_path / "a.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(["x"]).encode())
    assert parse_items(tmp_path / "a.json") == ["x"]
    (tmp_path / "a.csv").write_text("x")
    with pytest.raises(DataError, match="unsupported file type '.csv'"):
        parse_items(tmp_path / "a.csv")


def test_json_lines_in_a_json_file_gets_a_hint(tmp_path):
    (tmp_path / "a.json").write_text('"one"\n"two"\n')
    with pytest.raises(DataError, match=r"Extra data \(one value per line\? name the file .jsonl\)"):
        parse_items(tmp_path / "a.json")


def test_strict_stops_at_first_problem_collect_keeps_all():
    items = [{"question": "q"}, {"question": 1, "answer": "a"}, {"question": "q", "answer": "a"}, "x"]
    with pytest.raises(DataError, match=r"f\.json: \[0\]\.answer: missing"):
        records_from_items(items, "f.json", QAPair)
    sink = ProblemSink(strict=False)
    kept = records_from_items(items, "f.json", QAPair, sink)
    assert kept == [QAPair("q", "a")]
    assert [(p.field, p.message) for p in sink.problems] == [
        ("[0].answer", "missing"),
        ("[1].question", "expected a string (got 1)"),
        ("[3]", "expected an object with question, answer (got 'x')"),
    ]
