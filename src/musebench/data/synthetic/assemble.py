"""Turn a world into a MUSE corpus: raw splits, VerbMem, KnowMem, PrivLeak, the C5/C6 folds and the background.

The folds follow the News release: ``scal/forget_1`` = ``sust/forget_1`` = ``raw/forget`` (the same list);
``scal/forget_k`` adds the documents of fold groups 2..k (``forget_k ⊂ forget_{k+1}``); ``sust/forget_k``
for k >= 2 is fold group k alone (disjoint new documents). The target trains on every fold document, the
retrain model on none (``models.build.training_documents``). KnowMem questions about each fold's people go
to ``knowmem/{scal,sust}/forget_k_qa.json`` (fold 1's are ``knowmem/forget_qa``).

The background (``Background``) is text no split uses: the base model's pretraining articles and drills, the
probe questions that check its extraction skill, and the retrain model's filler articles. Every group, and
every purpose within it (documents, orders, drills, folds), has its own random stream (``world.Streams``).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from musebench.data.corpus import UNIT_PARTS, Corpus, record_key
from musebench.data.records import QAPair, VerbMemRecord
from musebench.data.synthetic.documents import join_sentences, qa_drill, questions, render_document
from musebench.data.synthetic.sizes import KINDS, SizeSpec, size_spec
from musebench.data.synthetic.style import STYLES
from musebench.data.synthetic.world import DRAW_ORDER, FACTS, FOLD_GROUPS, GROUPS, Streams, World, build_world
from musebench.errors import ConfigError

N_FOLDS = 4
#: How often each name appears in the tokenizer's name list (as often as a person's questions would name them).
NAME_REPEATS = 4


@dataclass
class Background:
    """Text of the people no split uses (written to ``background/``)."""

    articles: list[str]  # the base model's pretraining articles (background and probe people)
    drills: list[str]  # Question/Answer drills about the background people (never the probe people)
    probe_qa: list[QAPair]  # questions about the probe people, held out of every training text
    probe_icl: list[QAPair]  # few-shot examples for asking them (background people's questions)
    filler: list[str]  # articles the retrain model reads in place of the forget side (one per forget-side doc)
    #: Every forget, retain, holdout, background and probe person's name, ``NAME_REPEATS`` times each (never a
    #: fold or filler person's): the tokenizer learns these names as few tokens, alike for forget and holdout.
    names: list[str] = field(default_factory=list)


@dataclass
class MiniWorld:
    corpus: Corpus
    background: Background
    #: KnowMem (x100) of answering every question with the most frequent value of its fact type among the
    #: people the models train on: what a model scores from the answer prior alone.
    constant_answer: dict[str, float]


def generate_corpus(kind: str, size: str = "default", seed: int = 0) -> Corpus:
    """The mini corpus ``kind`` ("news-mini" or "books-mini") at ``size``; a pure function of its arguments."""
    return generate_world(kind, size, seed).corpus


def generate_world(kind: str, size: str = "default", seed: int = 0, spec: SizeSpec | None = None) -> MiniWorld:
    """The corpus, its background text and its constant-answer baseline. ``spec`` replaces the size's
    numbers (the random streams stay those of ``size``): how the tests resize one group and watch the others."""
    if kind not in KINDS:
        raise ConfigError(f"unknown mini corpus; expected one of {', '.join(KINDS)}", field="corpus", value=kind)
    spec = spec or size_spec(size)
    style = STYLES[kind]
    streams = Streams(f"{kind}/{size}/{seed}")
    world = build_world(spec.people_per_group(), streams)

    sentences: dict[str, list[list[str]]] = {}  # group -> documents as sentence lists, person-major order
    for group in DRAW_ORDER:
        rng = streams(f"docs/{group}")
        sentences[group] = [
            render_document(style, person, world, rng, variant, rng.randrange(1, 1000), spec.colour_sentences)
            for person in world.groups[group]
            for variant in range(spec.docs_per_person)
        ]
    docs = {g: [join_sentences(s) for s in sentences[g]] for g in DRAW_ORDER}
    qa = {g: [pair for person in world.groups[g] for pair in questions(style, person)] for g in DRAW_ORDER}
    # who every document, VerbMem record and question is about (the evaluation resamples people)
    person_of = {}
    for g in DRAW_ORDER:
        people = [p.name for p in world.groups[g] for _ in range(spec.docs_per_person)]
        person_of.update({d: name for d, name in zip(docs[g], people)})
        person_of.update({record_key(_verbmem(s)): name for s, name in zip(sentences[g], people)})
        person_of.update({record_key(pair): p.name for p in world.groups[g] for pair in questions(style, p)})

    drills = _drills(qa["retain1"], spec, streams("drills/retain1"))
    icl = _icl_examples(qa["retain1"], streams("icl/retain1"))
    cap = spec.max_records
    forget = _shuffled(docs["forget"], streams("order/forget"))
    scal, sust, scal_qa, sust_qa = _folds(forget, qa["forget"][:cap], docs, qa, cap, streams)
    corpus = Corpus(
        name=kind,
        forget=forget,
        retain1=_shuffled(docs["retain1"] + drills, streams("order/retain1")),
        retain2=_shuffled(docs["retain2"], streams("order/retain2")),
        holdout=_shuffled(docs["holdout"], streams("order/holdout")),
        verbmem_forget=[_verbmem(s) for s in sentences["forget"]][:cap],
        knowmem_forget_qa=qa["forget"][:cap],
        knowmem_retain_qa=qa["retain2"][:cap],
        knowmem_forget_qa_icl=icl,
        knowmem_retain_qa_icl=icl,
        privleak_forget=docs["forget"][:cap],
        privleak_retain=docs["retain2"][:cap],
        privleak_holdout=docs["holdout"][:cap],
        scal=scal,
        sust=sust,
        scal_qa=scal_qa,
        sust_qa=sust_qa,
        source=f"musebench synthetic {kind} size={size} seed={seed}",
    )
    corpus.units = {
        part: {record_key(r): person_of[record_key(r)] for r in getattr(corpus, part)} for part in UNIT_PARTS
    }
    background = Background(
        articles=_shuffled(docs["background"] + docs["probe"], streams("order/background")),
        drills=_drills(qa["background"], spec, streams("drills/background")),
        probe_qa=qa["probe"][:cap],
        probe_icl=_icl_examples(qa["background"], streams("icl/background")) if qa["background"] else [],
        filler=_shuffled(docs["filler"], streams("order/filler")),
        names=_shuffled(
            [p.name for g in GROUPS + ("background", "probe") for p in world.groups[g]] * NAME_REPEATS,
            streams("tokenizer/names"),
        ),
    )
    return MiniWorld(corpus, background, constant_answer_baseline(world, corpus))


def constant_answer_baseline(world: World, corpus: Corpus) -> dict:
    """KnowMem-f / KnowMem-r of the constant answer per fact type: the most frequent value (first drawn on a
    tie) among every person a model trains on. Answers are single words, so ROUGE-L is exact match here.
    The questions are person-major in ``FACTS`` order, so question i asks fact ``FACTS[i % 4]``."""
    trained = [p for g in DRAW_ORDER if g != "holdout" for p in world.groups[g]]
    prior = {f: Counter(p.facts[f] for p in trained).most_common(1)[0][0] for f in FACTS}

    def score(pairs: list[QAPair]) -> float:
        hits = sum(prior[FACTS[i % len(FACTS)]] == p.answer for i, p in enumerate(pairs))
        return round(100 * hits / len(pairs), 2) if pairs else 0.0

    return {
        "knowmem_f": score(corpus.knowmem_forget_qa),
        "knowmem_r": score(corpus.knowmem_retain_qa),
        "answers": prior,
    }


def _folds(
    forget: list[str],
    forget_qa: list[QAPair],
    docs: dict[str, list[str]],
    qa: dict[str, list[QAPair]],
    cap: int,
    streams: Streams,
):
    """C5 / C6 folds and their questions: fold 1 is the forget set; folds 2..4 are the fold groups' documents
    (``scal`` accumulates them, ``sust`` takes each alone). Without fold groups there are no folds."""
    if not docs.get(FOLD_GROUPS[0]):
        return {}, {}, {}, {}
    scal, sust = {1: forget}, {1: forget}
    scal_qa, sust_qa = {1: forget_qa}, {1: forget_qa}
    for k in range(2, N_FOLDS + 1):
        new_docs, new_qa = _shuffled(docs[f"fold{k}"], streams(f"order/fold{k}")), qa[f"fold{k}"][:cap]
        scal[k], sust[k] = scal[k - 1] + new_docs, new_docs
        scal_qa[k], sust_qa[k] = scal_qa[k - 1] + new_qa, new_qa
    return scal, sust, scal_qa, sust_qa


def _shuffled(items: list, rng: random.Random) -> list:
    out = list(items)
    rng.shuffle(out)
    return out


def _drills(pairs: list[QAPair], spec: SizeSpec, rng: random.Random) -> list[str]:
    """Shuffled Question/Answer documents about ``pairs``' people (never about people KnowMem asks about)."""
    out = []
    for _ in range(spec.qa_repeats):
        order = _shuffled(pairs, rng)
        out += [qa_drill(order[i : i + spec.drill_pairs]) for i in range(0, len(order), spec.drill_pairs)]
    return out


def _icl_examples(pairs: list[QAPair], rng: random.Random, n: int = 10) -> list[QAPair]:
    """Ten few-shot examples, cycling through the four question kinds."""
    by_kind = [pairs[i::4] for i in range(4)]
    for group in by_kind:
        rng.shuffle(group)
    return [by_kind[i % 4][i // 4] for i in range(n)]


def _verbmem(sentences: list[str]) -> VerbMemRecord:
    """Header and the first half of the body as prompt; the rest as the continuation to reproduce.

    The prompt keeps the space that separates it from the continuation, so the prompt ends on the same
    token boundary as in training.
    """
    head, body = sentences[0], sentences[1:]
    cut = len(body) // 2
    return VerbMemRecord(prompt=head + " ".join(body[:cut]) + " ", gt=" ".join(body[cut:]))
