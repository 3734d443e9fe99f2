"""Salient spans of a sentence, for cloze probes: dates, numbers and capitalised names.

A knowledge probe blanks one fact of a document's own sentence and asks the model to fill it in. Facts
worth asking are the spans a takedown is about and that a model cannot guess from grammar alone: dates
("July 26, 2016"), numbers and years ("1989", "3,554"), and capitalised names ("Bemia Heaash", "Tordane").
A lone capitalised word at the start of a sentence is not a name signal ("Last winter, ...") and is
skipped; a run of two or more capitalised words there is kept ("Bemia Heaash was born ...").
Everything here is a pure function of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
DATE = re.compile(
    rf"\b(?:(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTHS})\.?(?:,?\s+\d{{4}})?"
    rf"|(?:{MONTHS})\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})\b"
)
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
# a run of capitalised words: each an upper-case letter, then letters / apostrophes / inner hyphens
NAME_RUN = re.compile(r"\b[A-Z][\w'’]*(?:-[A-Z]?[\w'’]+)*(?:\s+(?:[A-Z][\w'’]*(?:-[A-Z]?[\w'’]+)*))*\b")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
KIND_ORDER = ("date", "number", "name")
#: capitalised function words that open a sentence ("The Braiterka fair", "At Brandvor"): not part of a name
LEADING_WORDS = frozenset(
    "a an the at in on of for from by to with as after before since during last this that "
    "these those his her their its our my when while if but and or so yet".split()
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # "date", "number" or "name"
    text: str


def split_sentences(text: str) -> list[str]:
    """Sentences of a document: split after ``.``/``!``/``?`` before a capital or digit; blank lines too."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        out += [s.strip() for s in SENTENCE_END.split(block.replace("\n", " ")) if s.strip()]
    return out


def salient_spans(sentence: str) -> list[Span]:
    """Non-overlapping salient spans, by priority date > number > name, in text order."""
    taken: list[Span] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s.start or a >= s.end for s in taken)

    for m in DATE.finditer(sentence):
        taken.append(Span(m.start(), m.end(), "date", m.group()))
    for m in NUMBER.finditer(sentence):
        if free(m.start(), m.end()):
            taken.append(Span(m.start(), m.end(), "number", m.group()))
    # where a sentence (or a dateline's sentence: "CITY, May 1 - Born in ...") begins
    openers = {re.match(r"\W*", sentence).end()} | {m.end() for m in re.finditer(r"\s[-–—:]\s+", sentence)}
    for m in NAME_RUN.finditer(sentence):
        start, text = m.start(), m.group()
        while text.split()[0].casefold() in LEADING_WORDS and len(text.split()) > 1:
            head = text.split()[0]
            cut = text.index(head) + len(head)
            cut += len(text[cut:]) - len(text[cut:].lstrip())
            start, text = start + cut, text[cut:]
        if text.casefold() in LEADING_WORDS:
            continue
        if start in openers and len(text.split()) < 2:
            continue  # a lone sentence-initial capital says nothing
        if free(start, start + len(text)):
            taken.append(Span(start, start + len(text), "name", text))
    return sorted(taken, key=lambda s: s.start)


def blank(sentence: str, span: Span, mask: str = "____") -> str:
    return sentence[: span.start] + mask + sentence[span.end :]


def usable(sentence: str, span: Span) -> bool:
    """A span is worth asking when the blanked sentence does not still contain it (or its last word)."""
    rest = blank(sentence, span).casefold()
    last = span.text.split()[-1].casefold()
    return span.text.casefold() not in rest and not re.search(rf"\b{re.escape(last)}\b", rest)


def normalise_answer(text: str) -> str:
    """For exact match: case-folded, punctuation dropped, whitespace collapsed (SQuAD-style)."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


__all__ = ["Span", "blank", "normalise_answer", "salient_spans", "split_sentences", "usable", "KIND_ORDER"]
