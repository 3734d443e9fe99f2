"""Turn a world into a MUSE corpus: raw splits, VerbMem, KnowMem, PrivLeak, and the C5/C6 forget folds.

The folds follow the News release: ``scal/forget_1`` = ``sust/forget_1`` = ``raw/forget`` (the same list);
``scal/forget_k`` adds the documents of fold groups 2..k (``forget_k ⊂ forget_{k+1}``); ``sust/forget_k``
for k >= 2 is fold group k alone (disjoint new documents). The target trains on every fold document, the
retrain model on none (``models.build.training_documents``). KnowMem questions about each fold's people go
to ``knowmem/{scal,sust}/forget_k_qa.json`` (fold 1's are ``knowmem/forget_qa``).
"""

from __future__ import annotations

import random

from musebench.data.corpus import Corpus
from musebench.data.records import QAPair, VerbMemRecord
from musebench.data.synthetic.documents import join_sentences, qa_drill, questions, render_document
from musebench.data.synthetic.sizes import KINDS, SizeSpec, size_spec
from musebench.data.synthetic.style import STYLES
from musebench.data.synthetic.world import FOLD_GROUPS, GROUPS, build_world
from musebench.errors import ConfigError

N_FOLDS = 4


def generate_corpus(kind: str, size: str = "default", seed: int = 0) -> Corpus:
    """The mini corpus ``kind`` ("news-mini" or "books-mini") at ``size``; a pure function of its arguments."""
    if kind not in KINDS:
        raise ConfigError(f"unknown mini corpus; expected one of {', '.join(KINDS)}", field="corpus", value=kind)
    spec = size_spec(size)
    style = STYLES[kind]
    rng = random.Random(f"{kind}/{size}/{seed}")
    world = build_world(spec.people_per_group(), rng)
    total_docs = sum(spec.people_per_group().values()) * spec.docs_per_person
    chapter_numbers = iter(rng.sample(range(1, total_docs + 1), total_docs))

    sentences: dict[str, list[list[str]]] = {}  # group -> documents as sentence lists, person-major order
    for group in GROUPS + FOLD_GROUPS:
        sentences[group] = [
            render_document(style, person, world, rng, variant, next(chapter_numbers), spec.colour_sentences)
            for person in world.groups[group] for variant in range(spec.docs_per_person)
        ]
    docs = {g: [join_sentences(s) for s in sentences[g]] for g in GROUPS + FOLD_GROUPS}
    qa = {g: [pair for person in world.groups[g] for pair in questions(style, person)] for g in GROUPS + FOLD_GROUPS}

    drills = _drills(qa["retain1"], spec, rng)
    icl = _icl_examples(qa["retain1"], rng)
    cap = spec.max_records
    forget = _shuffled(docs["forget"], rng)
    scal, sust, scal_qa, sust_qa = _folds(forget, qa["forget"][:cap], docs, qa, cap, rng)
    return Corpus(
        name=kind,
        forget=forget,
        retain1=_shuffled(docs["retain1"] + drills, rng),
        retain2=_shuffled(docs["retain2"], rng),
        holdout=_shuffled(docs["holdout"], rng),
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


def _folds(forget: list[str], forget_qa: list[QAPair], docs: dict[str, list[str]], qa: dict[str, list[QAPair]],
           cap: int, rng: random.Random):
    """C5 / C6 folds and their questions: fold 1 is the forget set; folds 2..4 are the fold groups' documents
    (``scal`` accumulates them, ``sust`` takes each alone). Without fold groups there are no folds."""
    if not docs.get("fold2"):
        return {}, {}, {}, {}
    scal, sust = {1: forget}, {1: forget}
    scal_qa, sust_qa = {1: forget_qa}, {1: forget_qa}
    for k in range(2, N_FOLDS + 1):
        new_docs, new_qa = _shuffled(docs[f"fold{k}"], rng), qa[f"fold{k}"][:cap]
        scal[k], sust[k] = scal[k - 1] + new_docs, new_docs
        scal_qa[k], sust_qa[k] = scal_qa[k - 1] + new_qa, new_qa
    return scal, sust, scal_qa, sust_qa


def _shuffled(items: list[str], rng: random.Random) -> list[str]:
    out = list(items)
    rng.shuffle(out)
    return out


def _drills(pairs: list[QAPair], spec: SizeSpec, rng: random.Random) -> list[str]:
    """Shuffled Question/Answer documents about the retain1 people (never about people KnowMem asks about)."""
    out = []
    for _ in range(spec.qa_repeats):
        order = _shuffled(pairs, rng)
        out += [qa_drill(order[i:i + spec.drill_pairs]) for i in range(0, len(order), spec.drill_pairs)]
    return out


def _icl_examples(pairs: list[QAPair], rng: random.Random, n: int = 10) -> list[QAPair]:
    """Ten few-shot examples from retain1 QA, cycling through the four question kinds."""
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
