"""Invented names for the synthetic world: people, towns and organisations built from syllables.

Every name is made here from a seeded generator, so the mini corpora contain no real person, place or
organisation and no copied text. Names are drawn without repetition: each person has a first name and a
surname no one else has, so a single name token is enough to recall that person's facts.
"""

from __future__ import annotations

import random

ONSETS = [
    "b",
    "br",
    "c",
    "d",
    "dr",
    "f",
    "g",
    "gr",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "st",
    "t",
    "th",
    "v",
    "w",
    "z",
]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou"]
CODAS = ["", "", "n", "r", "l", "s", "th", "m", "nd", "rk", "st", "v"]
PERSON_ENDINGS = ["a", "o", "en", "is", "an", "el", "ia", "us", "ra", "in"]
SURNAME_ENDINGS = ["ford", "wick", "mont", "vane", "holt", "ridge", "ley", "dale", "more", "ton", "well", "ash"]
TOWN_ENDINGS = ["mere", "bury", "haven", "stead", "port", "fell", "water", "gate", "crest", "field", "moor", "brook"]
ORG_ENDINGS = ["tra", "lex", "vor", "nix", "dane", "sor", "tiva", "rion", "quell", "mark"]


def _syllable(rng: random.Random) -> str:
    return rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)


class NameMaker:
    """Draws fresh capitalised names of several kinds; never returns the same string twice."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def _fresh(self, endings: list[str], syllables: int = 1) -> str:
        for _ in range(10_000):
            stem = "".join(_syllable(self.rng) for _ in range(syllables))
            name = (stem + self.rng.choice(endings)).capitalize()
            if name not in self.used and 4 <= len(name) <= 11:
                self.used.add(name)
                return name
        raise RuntimeError("name space exhausted")  # pragma: no cover - sizes are far below the space

    def first_name(self) -> str:
        return self._fresh(PERSON_ENDINGS)

    def surname(self) -> str:
        return self._fresh(SURNAME_ENDINGS)

    def town(self) -> str:
        return self._fresh(TOWN_ENDINGS)

    def organisation(self) -> str:
        return self._fresh(ORG_ENDINGS)

    def word(self) -> str:
        """A two-syllable invented word (ship, river, festival names)."""
        return self._fresh(["a", "o", "e", "i"], syllables=2)
