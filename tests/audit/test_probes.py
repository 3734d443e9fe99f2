"""Probe generation: chunk positions by hand, determinism, order invariance, shots, and refusals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from musebench.audit.documents import DocumentSet
from musebench.audit.probes import build_probes, verbatim_probes
from musebench.errors import DataError


def test_verbatim_chunks_sit_where_the_arithmetic_says(random_model, audit_docs, settings):
    """prefix 10 + continuation 12: continuations start at tokens 10, 32, 54, ... while they fit."""
    tok = random_model.tokenizer
    docs = DocumentSet("f", tuple(audit_docs["forget"]))
    probes = verbatim_probes(tok, docs, replace(settings, chunks_per_doc=10))
    for d, text in enumerate(docs.documents):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        starts = [p.start_token for p in probes if p.doc == d]
        assert starts == list(range(10, len(ids) - 12 + 1, 22))
        for p in (p for p in probes if p.doc == d):
            assert p.reference == tok.decode(ids[p.start_token : p.start_token + 12])
            assert p.prompt == tok.decode(ids[p.start_token - 10 : p.start_token])


def test_a_short_document_gets_one_probe_with_all_it_has_as_prefix(random_model, settings):
    tok = random_model.tokenizer
    text = "Alda Vorn was born in Kestrel Bay in 1950. Alda Vorn works"
    n = len(tok(text, add_special_tokens=False)["input_ids"])
    s = replace(settings, prefix_tokens=n, min_prefix_tokens=4)
    (probe,) = verbatim_probes(tok, DocumentSet("f", (text,)), s)
    assert probe.start_token == n - s.continuation_tokens


def test_chunks_are_sampled_with_the_seed(random_model, audit_docs, settings):
    tok = random_model.tokenizer
    docs = DocumentSet("f", tuple(audit_docs["forget"]))
    one = replace(settings, chunks_per_doc=1)
    a, b = verbatim_probes(tok, docs, one), verbatim_probes(tok, docs, one)
    assert a == b
    other = [verbatim_probes(tok, docs, replace(one, eval=replace(one.eval, seed=s))) for s in range(1, 6)]
    assert any(o != a for o in other)


def test_probes_of_a_document_do_not_depend_on_the_order_of_the_documents(random_model, audit_docs, settings):
    tok = random_model.tokenizer
    n = len(audit_docs["forget"])
    forward = build_probes(tok, DocumentSet("f", tuple(audit_docs["forget"])), None, settings)
    backward = build_probes(tok, DocumentSet("f", tuple(reversed(audit_docs["forget"]))), None, settings)
    assert [(s.masked, s.answer) for s in forward.shots] == [(s.masked, s.answer) for s in backward.shots]
    fwd, bwd = forward.roles["forget"], backward.roles["forget"]
    assert sorted((p.doc, p.masked, p.answer) for p in fwd.cloze) == sorted(
        (n - 1 - p.doc, p.masked, p.answer) for p in bwd.cloze
    )
    assert sorted((p.doc, p.prompt) for p in fwd.verbatim) == sorted((n - 1 - p.doc, p.prompt) for p in bwd.verbatim)


def test_shots_come_from_the_holdout_and_are_not_probed(random_model, audit_docs, settings):
    tok = random_model.tokenizer
    probes = build_probes(
        tok,
        DocumentSet("f", tuple(audit_docs["forget"])),
        DocumentSet("h", tuple(audit_docs["holdout"])),
        settings,
    )
    assert probes.shots_from == "holdout" and len(probes.shots) == settings.cloze_shots
    shot_docs = {s.doc for s in probes.shots}
    assert not shot_docs & {p.doc for p in probes.roles["holdout"].cloze}
    assert {p.doc for p in probes.roles["forget"].cloze} == set(range(len(audit_docs["forget"])))
    prompt = probes.cloze_prompt(probes.roles["forget"].cloze[0])
    assert prompt.count("Question: ") == settings.cloze_shots + 1 and prompt.endswith("\nAnswer: ")
    assert all(s.answer in prompt for s in probes.shots)
    choices = probes.choices(settings)
    assert choices["roles"]["forget"]["cloze_probes"] == len(probes.roles["forget"].cloze)
    assert [s["answer"] for s in choices["knowledge"]["shots"]] == [s.answer for s in probes.shots]


def test_documents_too_short_for_any_verbatim_probe(random_model, settings, tmp_path):
    with pytest.raises(DataError, match="no forget document is long enough .*need 16 tokens") as err:
        build_probes(random_model.tokenizer, DocumentSet(str(tmp_path / "f.json"), ("Alda Vorn.",)), None, settings)
    assert err.value.file == str(tmp_path / "f.json")


def test_documents_without_any_salient_span(random_model, settings):
    docs = DocumentSet(
        "plain.txt",
        (
            "there was nothing at all to say about the place, nothing whatsoever, "
            "and so we said nothing at all for a long long while.",
        ),
    )
    with pytest.raises(DataError, match="no forget sentence has a salient span") as err:
        build_probes(random_model.tokenizer, docs, None, replace(settings, probes=("knowledge",)))
    assert err.value.file == "plain.txt"
    # leaving the knowledge probe out is the way around it
    build_probes(random_model.tokenizer, docs, None, replace(settings, probes=("verbatim", "membership")))
