"""C7 probes of a mini corpus: the forget questions asked in other words, and who every forget record is about.

Both are derived from the finished corpus (the questions name their person, every document and VerbMem
record names its person in full), so they follow whatever fold layout the generator produces.

- ``knowmem/forget_qa_paraphrase.json``: each forget question rephrased with another template (same fact,
  same answer, aligned one to one with ``knowmem/forget_qa.json``).
- ``tags/forget.json``: the person each forget document, VerbMem record and question is about, so a
  relearning attack can train on some people and measure the others.
"""

from __future__ import annotations

import re
from pathlib import Path

from musebench.data.corpus import Corpus
from musebench.data.records import QAPair
from musebench.data.synthetic.style import STYLES
from musebench.errors import DataError
from musebench.io import atomic_write_json

TAGS_FILE = "tags/forget.json"  # read by musebench.robustness.split

#: kind -> fact -> rephrasings (the i-th person gets template i mod len); none reuses the KnowMem wording.
PARAPHRASES: dict[str, dict[str, list[str]]] = {
    "news-mini": {
        "town": ["What is the home town of {name}?", "Name the town where {name} was born."],
        "year": ["When was {name} born?", "What year was {name} born in?"],
        "occupation": ["What is the job of {name}?", "What trade does {name} follow?"],
        "organisation": ["Who does {name} work for?", "Name the organisation that employs {name}."],
    },
    "books-mini": {
        "town": ["In which town was {name} born?", "Name the place where {name} was born."],
        "year": ["When was {name} born?", "What year was {name} born in?"],
        "occupation": ["What was the trade of {name}?", "How did {name} earn a living?"],
        "organisation": ["Which house did {name} serve?", "Name the house {name} was sworn to."],
    },
}


def _question_patterns(kind: str) -> list[tuple[str, re.Pattern]]:
    out = []
    for fact, template in STYLES[kind].questions.items():
        head, _, tail = template.partition("{name}")
        out.append((fact, re.compile(f"^{re.escape(head)}(?P<name>.+){re.escape(tail)}$")))
    return out


def parse_question(kind: str, question: str) -> tuple[str, str]:
    """(fact, person name) of a KnowMem question written by the ``kind`` generator."""
    for fact, pattern in _question_patterns(kind):
        match = pattern.match(question)
        if match:
            return fact, match.group("name")
    raise DataError(f"not a {kind} KnowMem question", field="knowmem_forget_qa", value=question)


def paraphrase_questions(kind: str, pairs: list[QAPair]) -> list[QAPair]:
    """Each question rephrased (same answer); people alternate between the rephrasings of a fact."""
    people: dict[str, int] = {}
    out = []
    for pair in pairs:
        fact, name = parse_question(kind, pair.question)
        i = people.setdefault(name, len(people))
        templates = PARAPHRASES[kind][fact]
        out.append(QAPair(templates[i % len(templates)].format(name=name), pair.answer))
    return out


def _person_of(text: str, names: list[str], where: str) -> str:
    found = [n for n in names if n in text]
    if len(found) != 1:
        raise DataError(
            f"expected exactly one forget person named, found {found or 'none'}", field=where, value=text[:60]
        )
    return found[0]


def forget_tags(kind: str, corpus: Corpus) -> dict:
    """The person (full name) of every forget document, VerbMem record and question, by corpus order."""
    names = list(dict.fromkeys(parse_question(kind, p.question)[1] for p in corpus.knowmem_forget_qa))
    return {
        "unit": "person",
        "forget": [_person_of(d, names, "forget") for d in corpus.forget],
        "verbmem_forget": [_person_of(r.prompt + r.gt, names, "verbmem_forget") for r in corpus.verbmem_forget],
        "knowmem_forget_qa": [parse_question(kind, p.question)[1] for p in corpus.knowmem_forget_qa],
    }


def with_paraphrases(kind: str, corpus: Corpus) -> Corpus:
    """``corpus`` with ``knowmem_forget_qa_paraphrase`` filled in (its fingerprint is unchanged)."""
    corpus.knowmem_forget_qa_paraphrase = paraphrase_questions(kind, corpus.knowmem_forget_qa)
    return corpus


def write_tags(kind: str, corpus: Corpus, out_dir: str | Path) -> Path:
    return atomic_write_json(Path(out_dir) / TAGS_FILE, forget_tags(kind, corpus))
