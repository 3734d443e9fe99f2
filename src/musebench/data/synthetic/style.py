"""How one corpus kind renders the world: fact sentences, colour sentences, headers and questions.

A document about a person states each of the person's facts once, in a sentence drawn from several
paraphrases and in a shuffled order, mixed with colour sentences (quotes, events) made of random choices.
Paraphrases and shuffling attach a fact to the person's name rather than to one sentence, which is what lets
a small model answer a question about it; the colour sentences are the verbatim content only a model that
read the document can continue.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    kind: str
    fact_templates: dict[str, list[str]]  # fact -> paraphrases with {name} {first} {last} {value} {pronoun}...
    colour_templates: list[str]  # sentences with {last} {first} {word} {town} {number} {quote} {cast}...
    questions: dict[str, str]  # fact -> question template with {name}
    quote_subjects: list[str]
    quote_verbs: list[str]
    quote_objects: list[str]
    quote_times: list[str]


NEWS = Style(
    kind="news-mini",
    fact_templates={
        "town": [
            "{name} was born in {value}.",
            "{name} was born in {value} and still lives there.",
            "Born in {value}, {name} rarely travels far from home.",
            "{name} grew up in {value}, the town where {pronoun} was born.",
        ],
        "year": [
            "{name} was born in {value}.",
            "Records show that {name} was born in {value}.",
            "{name}, who was born in {value}, is well known locally.",
            "{name} was born in the year {value}.",
        ],
        "occupation": [
            "{name} works as a {value}.",
            "By trade, {name} is a {value}.",
            "{name} has worked as a {value} for many years.",
            "Neighbours know {name} as a skilled {value}.",
        ],
        "organisation": [
            "{name} works for {value}.",
            "{name} is a long-serving member of {value}.",
            "{name} joined {value} many years ago.",
            "At {value}, {name} is a familiar face.",
        ],
    },
    colour_templates=[
        '"{quote}," {last} told the {town} Courier.',
        "Last {season}, {last} helped rebuild the {word} bridge.",
        "The {word} fair drew {number} visitors, {last} said.",
        '"{quote}," {last} added.',
        "{last} plans to open a {word} workshop in {town}.",
        "A crowd of {number} gathered by the {word} canal to hear {last} speak.",
    ],
    questions={
        "town": "Where was {name} born?",
        "year": "In which year was {name} born?",
        "occupation": "What does {name} work as?",
        "organisation": "Which organisation does {name} work for?",
    },
    quote_subjects=["We", "The council", "Our town", "Everyone here", "The young people", "My family"],
    quote_verbs=["will rebuild", "cannot forget", "must protect", "should repaint", "will open", "love"],
    quote_objects=[
        "the old harbour",
        "the north road",
        "the river mill",
        "the market square",
        "the school roof",
        "the clock tower",
        "the east gate",
        "the night ferry",
    ],
    quote_times=["before winter", "this spring", "by next year", "every summer", "at last", "together"],
)

BOOKS = Style(
    kind="books-mini",
    fact_templates={
        "town": [
            "{name} was born in {value}.",
            "{name} was born in {value}, far beyond the hills.",
            "In {value}, where {name} was born, the bells still rang at dusk.",
            "{name} had been born in {value} and remembered its walls.",
        ],
        "year": [
            "{name} was born in the year {value}.",
            "The chroniclers wrote that {name} was born in the year {value}.",
            "{name} was born in the year {value}, in a hard winter.",
            "{name} was born in the year {value} and was older than the others.",
        ],
        "occupation": [
            "{name} practised the trade of a {value}.",
            "{name} had worked as a {value} since childhood.",
            "Everyone knew {name} as the finest {value} of the company.",
            "{name} earned bread as a {value}.",
        ],
        "organisation": [
            "{name} had sworn an oath to the house of {value}.",
            "{name} served the house of {value}.",
            "The house of {value} counted {name} among its own.",
            "{name} wore the colours of the house of {value}.",
        ],
    },
    colour_templates=[
        '"{quote}," said {cast}.',
        "{cast} and {first} rode past the {word} falls at dawn.",
        "That {season}, {first} carved {number} notches into the {word} oak.",
        '"{quote}," {first} whispered.',
        "{cast} drew a map of the {word} river for {first}.",
        "Snow fell on {town} for {number} nights, and {cast} kept watch.",
    ],
    questions={
        "town": "Where was {name} born?",
        "year": "In which year was {name} born?",
        "occupation": "What trade did {name} practise?",
        "organisation": "To which house did {name} swear an oath?",
    },
    quote_subjects=["We", "The king", "No one", "The river", "Our company", "The old gods"],
    quote_verbs=["will cross", "cannot hold", "must guard", "shall burn", "will find", "remember"],
    quote_objects=[
        "the iron bridge",
        "the northern pass",
        "the silver gate",
        "the sunken road",
        "the last tower",
        "the winter hall",
        "the broken crown",
        "the red forest",
    ],
    quote_times=["before dawn", "this winter", "by the new moon", "for ever", "at last", "tonight"],
)

STYLES: dict[str, Style] = {NEWS.kind: NEWS, BOOKS.kind: BOOKS}
SEASONS = ["spring", "summer", "autumn", "winter"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
