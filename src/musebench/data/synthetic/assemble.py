"""Turn a world into a MUSE corpus: raw splits, VerbMem, KnowMem, PrivLeak, and the C5/C6 forget folds."""

from __future__ import annotations

import random

from musebench.data.corpus import Corpus
from musebench.data.records import QAPair, VerbMemRecord
from musebench.data.synthetic.documents import join_sentences, qa_drill, questions, render_document
from musebench.data.synthetic.sizes import KINDS, SizeSpec, size_spec
from musebench.data.synthetic.style import STYLES
from musebench.data.synthetic.world import GROUPS, build_world
from musebench.errors import ConfigError

N_FOLDS = 4


def generate_corpus(kind: str, size: str = "default", seed: int = 0) -> Corpus:
    """The mini corpus ``kind`` ("news-mini" or "books-mini") at ``size``; a pure function of its arguments."""
    if kind not in KINDS:
        raise ConfigError(f"unknown mini corpus; expected one of {', '.join(KINDS)}", field="corpus", value=kind)
    spec = size_spec(size)
    style = STYLES[kind]
    rng = random.Random(f"{kind}/{size}/{seed}")
    world = build_world(spec.people, rng)
    total_docs = sum(spec.people.values()) * spec.docs_per_person
    chapter_numbers = iter(rng.sample(range(1, total_docs + 1), total_docs))

    sentences: dict[str, list[list[str]]] = {}  # group -> documents as sentence lists, person-major order
    for group in GROUPS:
        sentences[group] = [
            render_document(style, person, world, rng, variant, next(chapter_numbers), spec.colour_sentences)
            for person in world.groups[group] for variant in range(spec.docs_per_person)
        ]
    docs = {g: [join_sentences(s) for s in sentences[g]] for g in GROUPS}
    qa = {g: [pair for person in world.groups[g] for pair in questions(style, person)] for g in GROUPS}

    drills = _drills(qa["retain1"], spec, rng)
    icl = _icl_examples(qa["retain1"], rng)
    forget_by_person = _by_person(docs["forget"], spec.docs_per_person)
    cap = spec.max_records
    return Corpus(
        name=kind,
        forget=_shuffled(docs["forget"], rng),
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
        scal={k: _flat(forget_by_person[: len(forget_by_person) * k // N_FOLDS]) for k in range(1, N_FOLDS + 1)},
        sust={k: _flat(forget_by_person[len(forget_by_person) * (k - 1) // N_FOLDS:
                                        len(forget_by_person) * k // N_FOLDS]) for k in range(1, N_FOLDS + 1)},
        source=f"musebench synthetic {kind} size={size} seed={seed}",
    )


def _shuffled(items: list[str], rng: random.Random) -> list[str]:
    out = list(items)
    rng.shuffle(out)
    return out


def _by_person(docs: list[str], per_person: int) -> list[list[str]]:
    return [docs[i:i + per_person] for i in range(0, len(docs), per_person)]


def _flat(groups: list[list[str]]) -> list[str]:
    return [d for g in groups for d in g]


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
