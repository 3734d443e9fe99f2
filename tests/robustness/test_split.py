"""The relearning split: a slice and a complement that share no person (or, without tags, no document)."""

from __future__ import annotations

import pytest

from musebench.data.synthetic import generate_corpus
from musebench.data.synthetic.probes import forget_tags, with_paraphrases
from musebench.errors import ConfigError
from musebench.robustness.split import ForgetTags, split_forget


@pytest.fixture(scope="module")
def mini():
    corpus = with_paraphrases("news-mini", generate_corpus("news-mini", "tiny", 0))
    raw = forget_tags("news-mini", corpus)
    tags = ForgetTags(
        unit=raw["unit"],
        forget=tuple(raw["forget"]),
        verbmem_forget=tuple(raw["verbmem_forget"]),
        knowmem_forget_qa=tuple(raw["knowmem_forget_qa"]),
    )
    return corpus, tags


def test_person_split_measures_only_people_the_slice_never_mentions(mini):
    corpus, tags = mini
    split = split_forget(corpus, tags, 0.25, "forget-slice", seed=0)
    people = sorted(set(tags.forget))
    sliced = {t for d, t in zip(corpus.forget, tags.forget) if d in split.train_texts}
    assert split.unit == "person" and split.slice_units == len(sliced) == round(0.25 * len(people))
    assert split.metrics == ("verbmem_f", "knowmem_f")
    for qa in split.held_out.knowmem_forget_qa:
        assert not any(name in qa.question for name in sliced)
    for record in split.held_out.verbmem_forget:
        assert not any(name in record.prompt + record.gt for name in sliced)
    # every record of the other people is kept: 4 questions per person
    assert len(split.held_out.knowmem_forget_qa) == 4 * (len(people) - len(sliced))
    # nothing else of the corpus changes
    assert split.held_out.knowmem_retain_qa == corpus.knowmem_retain_qa
    assert split_forget(corpus, tags, 0.25, "forget-slice", seed=0) == split  # deterministic
    assert split_forget(corpus, tags, 0.25, "forget-slice", seed=1).train_texts != split.train_texts


def test_retain_relearning_uses_as_many_retain_documents_and_the_same_rest(mini):
    corpus, tags = mini
    a = split_forget(corpus, tags, 0.25, "forget-slice", seed=0)
    b = split_forget(corpus, tags, 0.25, "retain", seed=0)
    assert len(b.train_texts) == len(a.train_texts)
    assert set(b.train_texts) <= set(corpus.retain1)
    assert b.held_out.knowmem_forget_qa == a.held_out.knowmem_forget_qa


def test_document_split_without_tags_is_verbmem_only(mini):
    corpus, _ = mini
    split = split_forget(corpus, None, 0.25, "forget-slice", seed=0)
    assert split.unit == "document" and split.metrics == ("verbmem_f",)
    assert split.held_out.knowmem_forget_qa == []
    assert "VerbMem only" in split.note
    for record in split.held_out.verbmem_forget:
        assert not any(record.prompt.strip() in d for d in split.train_texts)


@pytest.mark.parametrize(
    "fraction, message",
    [
        (0.99, "leaves no held-out part"),
        (0.01, "nothing to relearn"),
        (1.0, "strictly between"),
        (0.0, "strictly between"),
    ],
)
def test_bad_fraction_is_one_error_naming_the_flag(mini, fraction, message):
    corpus, tags = mini
    with pytest.raises(ConfigError, match=message) as err:
        split_forget(corpus, tags, fraction)
    assert err.value.field == "--fraction"


def _real_corpus():
    """No tags: a document split. Every record's text is taken from one forget document, then altered."""
    import random

    from musebench.data import Corpus, VerbMemRecord

    vocab = [
        "council",
        "harbour",
        "budget",
        "mayor",
        "river",
        "bridge",
        "school",
        "market",
        "winter",
        "festival",
        "railway",
        "museum",
        "library",
        "tower",
        "garden",
        "station",
        "ferry",
        "quarry",
        "orchard",
        "mill",
    ]
    rng = random.Random(0)
    docs = [
        " ".join(["Report", str(i) + ":", "the"] + [rng.choice(vocab) + ("," if j % 5 == 4 else "") for j in range(30)])
        for i in range(8)
    ]

    def record(i, prompt_edit=lambda s: s, gt_edit=lambda s: s):
        text = docs[i]
        return VerbMemRecord(prompt_edit(text[:60]), gt_edit(text[60:]))

    records = [record(i) for i in range(8)]
    records += [record(i, prompt_edit=lambda s: s.replace(" the ", "  the ")) for i in range(8)]  # doubled space
    records += [
        record(i, prompt_edit=lambda s: s.replace(", ", " , "), gt_edit=lambda s: s.replace(", ", " , "))
        for i in range(8)
    ]  # a decoder's space before punctuation
    records += [VerbMemRecord("An unrelated prompt about weather:", docs[i][60:140]) for i in range(8)]  # 8-grams
    return docs, Corpus(name="real", forget=docs, verbmem_forget=records, source="real")


def test_document_split_excludes_a_record_on_any_overlap_with_a_relearned_document():
    docs, corpus = _real_corpus()
    split = split_forget(corpus, None, 0.5, "forget-slice", seed=0)
    relearned = {docs.index(t) for t in split.train_texts}
    assert len(relearned) == 4
    kept = split.held_out.verbmem_forget
    # 8 kinds of record per document: none of a relearned document survives, in any of its four forms
    for kind in range(4):
        for i in range(8):
            record = corpus.verbmem_forget[8 * kind + i]
            assert (record in kept) == (i not in relearned), (kind, i)
    assert len(kept) == 4 * 4
