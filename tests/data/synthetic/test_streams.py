"""Independent random streams: a group's size never changes another group's bytes; the background stays apart."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from musebench.data.synthetic import SIZES, generate_world
from musebench.data.synthetic.probes import parse_question
from musebench.data.synthetic.world import FACTS
from musebench.data.synthetic.writer import tokenizer_texts

#: Everything a retrain model reads or is scored on, and everything the base reads.
UNCHANGED = (
    "forget",
    "retain1",
    "retain2",
    "holdout",
    "verbmem_forget",
    "knowmem_forget_qa",
    "knowmem_retain_qa",
    "knowmem_forget_qa_icl",
    "knowmem_retain_qa_icl",
    "privleak_forget",
    "privleak_retain",
    "privleak_holdout",
)


def _world(kind: str, **changes):
    return generate_world(kind, "tiny", 4, spec=replace(SIZES["tiny"], **changes))


@pytest.mark.parametrize("kind", ["news-mini", "books-mini"])
@pytest.mark.parametrize("fold_people", [0, 1, 5])
def test_adding_or_resizing_folds_never_changes_a_byte_of_retain_data(kind, fold_people):
    reference = _world(kind).corpus.to_dict()
    world = _world(kind, fold_people=fold_people)
    changed = world.corpus.to_dict()
    for part in UNCHANGED:
        assert changed[part] == reference[part], part
    ref_world = _world(kind)
    for part in ("articles", "drills", "probe_qa", "probe_icl", "names"):  # the base's and tokenizer's text
        assert getattr(world.background, part) == getattr(ref_world.background, part), part
    # so the tokenizer (and the base trained with it) are the same too
    assert tokenizer_texts(world.corpus, world.background) == tokenizer_texts(ref_world.corpus, ref_world.background)
    assert (len(changed["sust"]) == 0) == (fold_people == 0)


def test_resizing_the_background_never_changes_the_splits():
    reference = _world("news-mini").corpus.to_dict()
    for changes in ({"background_people": 5}, {"probe_people": 0}, {"background_people": 0, "probe_people": 0}):
        changed = _world("news-mini", **changes).corpus.to_dict()
        assert {p: changed[p] for p in UNCHANGED} == {p: reference[p] for p in UNCHANGED}, changes
        assert changed["sust"] == reference["sust"], changes


def _people(docs, names):
    return {n for n in names if any(n in d for d in docs)}


def test_the_tokenizer_never_reads_a_fold_or_filler_document():
    world = generate_world("news-mini", "tiny", 0)
    corpus, background = world.corpus, world.background
    texts = "\n".join(tokenizer_texts(corpus, background))
    fold_names = {parse_question("news-mini", q.question)[1] for k in (2, 3, 4) for q in corpus.sust_qa[k]}
    assert fold_names and not [n for n in fold_names if n in texts]
    assert not [d for k in (2, 3, 4) for d in corpus.sust[k] if d in texts]
    assert not [d for d in background.filler if d in texts]


def test_background_people_are_in_no_split_and_probe_people_only_in_articles():
    world = generate_world("news-mini", "tiny", 0)
    corpus, background = world.corpus, world.background
    split_text = "\n".join(
        corpus.forget
        + corpus.retain1
        + corpus.retain2
        + corpus.holdout
        + [d for docs in corpus.sust.values() for d in docs]
    )
    probe = {parse_question("news-mini", q.question)[1] for q in background.probe_qa}
    assert len(probe) == SIZES["tiny"].probe_people
    assert not [n for n in probe if n in split_text or n in "\n".join(background.drills + background.filler)]
    for qa in background.probe_qa:  # every probe answer is stated in the person's articles
        name = parse_question("news-mini", qa.question)[1]
        about = [a for a in background.articles if name in a]
        assert len(about) == SIZES["tiny"].docs_per_person and all(qa.answer in a for a in about)
    drilled = {
        parse_question("news-mini", line.removeprefix("Question: "))[1]
        for d in background.drills
        for line in d.splitlines()
        if line.startswith("Question: ")
    }
    assert len(drilled) == SIZES["tiny"].background_people and not drilled & probe
    assert not [n for n in drilled if n in split_text]
    assert not {q.question for q in background.probe_icl} & {q.question for q in background.probe_qa}
    # one filler document per forget-side document
    forget_side = set(corpus.forget) | {d for docs in corpus.sust.values() for d in docs}
    assert len(background.filler) == len(forget_side)
    assert not set(background.filler) & set(split_text.split("\n"))


def test_constant_answer_baseline_hand_computed():
    """Trained people: towns A, A, B (holdout people do not count); asked: forget X (town A), Y (town B)."""
    from musebench.data import Corpus, QAPair
    from musebench.data.synthetic.assemble import constant_answer_baseline
    from musebench.data.synthetic.world import Person, World

    def person(first, town, year):
        return Person(first, "Q", "she", {"town": town, "year": year, "occupation": "potter", "organisation": "O"})

    x, y = person("X", "A", "1950"), person("Y", "B", "1950")
    groups = {
        "forget": [x, y],
        "retain1": [person("R", "A", "1960")],
        "retain2": [],
        "holdout": [person("H1", "B", "1970"), person("H2", "B", "1970"), person("H3", "B", "1970")],
    }
    world = World(
        groups={**{g: [] for g in ("background", "probe", "filler", "fold2", "fold3", "fold4")}, **groups},
        towns=["A", "B"],
        organisations=["O"],
        words=[],
        cast=[],
    )
    ask = [QAPair(f"{f} of {p.first}?", p.facts[f]) for p in (x, y) for f in FACTS]
    corpus = Corpus(name="hand", knowmem_forget_qa=ask, knowmem_retain_qa=ask[:4])
    baseline = constant_answer_baseline(world, corpus)
    assert baseline["answers"] == {"town": "A", "year": "1950", "occupation": "potter", "organisation": "O"}
    # X: all four right; Y: town wrong (B), the other three right -> 7 of 8
    assert baseline["knowmem_f"] == 87.5 and baseline["knowmem_r"] == 100.0


def test_constant_answer_baseline_is_recorded_for_both_splits():
    world = generate_world("news-mini", "tiny", 0)
    prior = world.constant_answer["answers"]
    assert set(prior) == set(FACTS)
    drilled = Counter(
        line.rpartition("Answer: ")[2]
        for d in world.background.drills
        for line in d.splitlines()
        if line.startswith("Answer: ")
    )
    assert all(drilled[v] >= 1 for v in prior.values())  # the prior answers are values the models read
    assert 0 <= world.constant_answer["knowmem_f"] < 50 and 0 <= world.constant_answer["knowmem_r"] < 50


def test_the_tokenizer_reads_forget_and_holdout_people_alike():
    """Forget and holdout people are named only in their own documents (three each) in the tokenizer's texts,
    never in a KnowMem question list (which names forget people, not holdout ones): otherwise forget names get
    more merges and a model that read neither tells the two apart by tokenization alone."""
    world = generate_world("news-mini", "tiny", 1)
    corpus, background = world.corpus, world.background
    texts = tokenizer_texts(corpus, background)
    assert sorted(texts) == sorted(
        corpus.forget
        + corpus.retain1
        + corpus.retain2
        + corpus.holdout
        + background.articles
        + background.drills
        + background.names
    )
    joined = "\n".join(texts)
    for qa in corpus.knowmem_forget_qa:
        name = parse_question("news-mini", qa.question)[1]
        assert joined.count(name) == "\n".join(corpus.forget).count(name) + 4  # its documents + the name list
    assert not [q for q in corpus.knowmem_forget_qa if q.question in joined]
    listed = Counter(background.names)
    holdout_names = [n for n in listed if any(n in d for d in corpus.holdout)]
    assert len(holdout_names) == SIZES["tiny"].people["holdout"] and {listed[n] for n in listed} == {4}


def test_the_filler_carries_the_forget_sides_fact_values_under_other_names():
    """The retrain model's stand-in for the forget side has exactly its answer frequencies (each fact type's
    values shuffled across people), so target and retrain differ in whose facts they read, not how often each
    value occurs."""
    import random

    from musebench.data.synthetic.sizes import size_spec
    from musebench.data.synthetic.world import Person, Streams, build_world, forget_side, mirror_facts

    for size in ("tiny", "default"):
        world = build_world(size_spec(size).people_per_group(), Streams(f"news-mini/{size}/0"))
        side, filler = forget_side(world.groups), world.groups["filler"]
        assert len(side) == len(filler) > 0
        for fact in FACTS:
            assert Counter(p.facts[fact] for p in filler) == Counter(p.facts[fact] for p in side), (size, fact)
        assert not {p.name for p in filler} & {p.name for p in side}
        # shuffled per fact type: the people's bindings are broken, not copied wholesale
        assert sum(p.facts == q.facts for p, q in zip(filler, side)) < len(side) // 2

    def person(i, town):
        return Person(f"A{i}", "B", "she", {"town": town, "year": "1950", "occupation": "potter", "organisation": "X"})

    side = [person(0, "T1"), person(1, "T1"), person(2, "T2")]
    two = mirror_facts([person(7, "Z"), person(8, "Z")], side, random.Random(0))  # a shorter filler: cycled
    assert sorted(p.facts["town"] for p in two) == ["T1", "T1"] and [p.name for p in two] == ["A7 B", "A8 B"]
    assert mirror_facts([], side, random.Random(0)) == [] and mirror_facts(two, [], random.Random(0)) == two
