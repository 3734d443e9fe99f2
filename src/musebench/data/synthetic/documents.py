"""Render documents (dated news articles or saga chapters) and question/answer pairs about people."""

from __future__ import annotations

import random

from musebench.data.records import QAPair
from musebench.data.synthetic.style import MONTHS, SEASONS, Style
from musebench.data.synthetic.world import FACTS, Person, World


def _fill(template: str, person: Person, world: World, rng: random.Random, style: Style, value: str = "") -> str:
    quote = " ".join(
        [
            rng.choice(style.quote_subjects),
            rng.choice(style.quote_verbs),
            rng.choice(style.quote_objects),
            rng.choice(style.quote_times),
        ]
    )
    text = template.format(
        name=person.name,
        first=person.first,
        last=person.last,
        value=value,
        pronoun=person.pronoun,
        word=rng.choice(world.words),
        town=rng.choice(world.towns),
        number=rng.randrange(12, 990),
        season=rng.choice(SEASONS),
        quote=quote,
        cast=rng.choice(world.cast).name,
    )
    return text[0].upper() + text[1:]


def header(style: Style, world: World, rng: random.Random, number: int) -> str:
    """A news dateline or a chapter title; ``number`` is the chapter number for the saga."""
    if style.kind == "books-mini":
        return f"Chapter {number}: The {rng.choice(world.words)} {rng.choice(['Road', 'Oath', 'Fire', 'Tide'])}\n\n"
    day, month, year = rng.randrange(1, 29), rng.choice(MONTHS), rng.randrange(2015, 2025)
    return f"{rng.choice(world.towns).upper()}, {month} {day}, {year} - "


def fact_sentence(style: Style, person: Person, world: World, fact: str, rng: random.Random, variant: int) -> str:
    templates = style.fact_templates[fact]
    return _fill(templates[variant % len(templates)], person, world, rng, style, person.facts[fact])


def render_document(
    style: Style, person: Person, world: World, rng: random.Random, variant: int, number: int, n_colour: int
) -> list[str]:
    """The sentences of one document about ``person`` (header first); joined with spaces by the caller.

    ``variant`` picks a different paraphrase of every fact for each document about the same person.
    """
    facts = [fact_sentence(style, person, world, f, rng, variant + i) for i, f in enumerate(FACTS)]
    colour = [_fill(rng.choice(style.colour_templates), person, world, rng, style) for _ in range(n_colour)]
    body = facts + colour
    rng.shuffle(body)
    return [header(style, world, rng, number)] + body


def join_sentences(sentences: list[str]) -> str:
    head, body = sentences[0], sentences[1:]
    return head + " ".join(body)


def questions(style: Style, person: Person) -> list[QAPair]:
    """One question per fact, answered by a single word (a town, a year, an occupation, an organisation)."""
    return [QAPair(style.questions[f].format(name=person.name), person.facts[f]) for f in FACTS]


def qa_drill(pairs: list[QAPair]) -> str:
    """A document in the exact few-shot format of the KnowMem prompt (teaches the Question/Answer form)."""
    return "".join(f"Question: {p.question}\nAnswer: {p.answer}\n\n" for p in pairs).rstrip("\n")
