"""C7's probes of the mini world: rephrased questions aligned with KnowMem-f, and a person on every record."""

from __future__ import annotations

import json

import pytest

from musebench.data import load_corpus
from musebench.data.synthetic import generate_corpus
from musebench.data.synthetic.probes import (
    forget_tags,
    paraphrase_questions,
    parse_question,
    with_paraphrases,
)
from musebench.models.mini_corpus import write_mini_corpus as write_corpus


@pytest.mark.parametrize("kind", ["news-mini", "books-mini"])
def test_every_question_is_rephrased_with_the_same_fact_and_answer(kind):
    corpus = generate_corpus(kind, "tiny", 0)
    para = paraphrase_questions(kind, corpus.knowmem_forget_qa)
    assert len(para) == len(corpus.knowmem_forget_qa)
    for orig, new in zip(corpus.knowmem_forget_qa, para):
        name = parse_question(kind, orig.question)[1]
        assert new.answer == orig.answer and name in new.question and new.question != orig.question
    # other words, not one template: each fact is asked in two ways across people
    assert (
        len(
            {
                q.question.replace(parse_question(kind, o.question)[1], "X")
                for q, o in zip(para, corpus.knowmem_forget_qa)
            }
        )
        == 8
    )


def test_tags_name_one_forget_person_per_record():
    corpus = generate_corpus("news-mini", "tiny", 0)
    tags = forget_tags("news-mini", corpus)
    people = set(tags["knowmem_forget_qa"])
    assert len(people) == 8  # the tiny world's forget people
    for part in ("forget", "verbmem_forget", "knowmem_forget_qa"):
        assert len(tags[part]) == len(getattr(corpus, part)) and set(tags[part]) == people
    for doc, person in zip(corpus.forget, tags["forget"]):
        assert person in doc


def test_written_corpus_has_both_files_and_an_unchanged_fingerprint(tmp_path):
    base = generate_corpus("news-mini", "tiny", 0)
    out = write_corpus("news-mini", "tiny", 0, tmp_path / "c")
    loaded = load_corpus(out)
    assert loaded.knowmem_forget_qa_paraphrase == paraphrase_questions("news-mini", base.knowmem_forget_qa)
    # the probe is not part of the fingerprint: built models and cached evaluations stay valid
    assert loaded.fingerprint() == base.fingerprint() == with_paraphrases("news-mini", base).fingerprint()
    tags = json.loads((out / "tags" / "forget.json").read_text())
    assert tags["unit"] == "person" and len(tags["forget"]) == len(loaded.forget)


def test_every_evaluated_record_names_its_person_and_the_evaluation_reads_it(tmp_path):
    """``tags/units.json``: the generator's people (the same as C7's tags for the forget parts); each text or
    question names its person; the holdout and retain people are others."""
    from musebench.data.corpus import UNIT_PARTS

    out = write_corpus("news-mini", "tiny", 0, tmp_path / "c")
    loaded = load_corpus(out)
    tags = forget_tags("news-mini", loaded)
    assert loaded.unit_labels("verbmem_forget") == tags["verbmem_forget"]
    assert loaded.unit_labels("knowmem_forget_qa") == tags["knowmem_forget_qa"]
    people = {}
    for part in UNIT_PARTS:
        labels = loaded.unit_labels(part)
        assert labels is not None and len(set(labels)) == 8
        people[part] = set(labels)
        if part != "verbmem_forget":  # a VerbMem record may cut the name at its prompt/reference boundary
            for record, person in zip(getattr(loaded, part), labels):
                assert person in (record if isinstance(record, str) else record.question)
    assert people["privleak_forget"] == people["knowmem_forget_qa"] == people["verbmem_forget"]
    assert not people["privleak_holdout"] & people["privleak_forget"]
    assert people["knowmem_retain_qa"] == people["privleak_retain"] != people["privleak_forget"]
