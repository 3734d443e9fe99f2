"""The fictional world behind a mini corpus: people with a few short facts, split into MUSE roles.

Every person has the same four facts (home town, birth year, occupation, organisation). Values come from
small shared pools, so a model that never read about a person can still produce a plausible value, but only
by chance the right one: the retrain model's KnowMem on the forget people stays near chance while the
target's reflects what it read. Answers are one word each, so ROUGE-L gives no partial credit for a
wrong guess that shares a common word.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from musebench.data.synthetic.names import NameMaker

FACTS = ("town", "year", "occupation", "organisation")
GROUPS = ("forget", "retain1", "retain2", "holdout")
#: People whose documents extend the forget set for C5 / C6 (fold 1 is ``forget`` itself). The target reads
#: them, the retrain model does not: they are forget-side training documents, as in the News release.
FOLD_GROUPS = ("fold2", "fold3", "fold4")

OCCUPATIONS = ["glassblower", "cartographer", "beekeeper", "clockmaker", "shipwright", "astronomer", "potter",
               "weaver", "surveyor", "brewer", "bookbinder", "falconer", "locksmith", "herbalist", "stonemason",
               "violinist", "engraver", "tanner", "ferryman", "archivist", "chemist", "sculptor", "miller",
               "saddler"]


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    pronoun: str  # "she" or "he"
    facts: dict[str, str] = field(hash=False)

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def possessive(self) -> str:
        return "her" if self.pronoun == "she" else "his"


@dataclass
class World:
    """People by group plus the pools their facts and the story details were drawn from."""

    groups: dict[str, list[Person]]
    towns: list[str]
    organisations: list[str]
    words: list[str]  # invented names for ships, rivers, festivals (colour details)
    cast: list[Person]  # recurring characters (the saga's companions); they are never asked about


def build_world(people_per_group: dict[str, int], rng: random.Random, n_towns: int = 24, n_orgs: int = 16,
                n_words: int = 60, n_cast: int = 4) -> World:
    """Draw a world; the same ``rng`` state gives the same world. ``people_per_group`` names the MUSE roles
    (``GROUPS``) and, optionally, the extra fold groups (``FOLD_GROUPS``)."""
    names = NameMaker(rng)
    towns = [names.town() for _ in range(n_towns)]
    orgs = [names.organisation() for _ in range(n_orgs)]
    words = [names.word() for _ in range(n_words)]
    years = [str(y) for y in range(1940, 2000)]

    def person() -> Person:
        facts = {"town": rng.choice(towns), "year": rng.choice(years), "occupation": rng.choice(OCCUPATIONS),
                 "organisation": rng.choice(orgs)}
        return Person(names.first_name(), names.surname(), rng.choice(["she", "he"]), facts)

    cast = [person() for _ in range(n_cast)]
    groups = {g: [person() for _ in range(people_per_group.get(g, 0))] for g in GROUPS + FOLD_GROUPS}
    return World(groups=groups, towns=towns, organisations=orgs, words=words, cast=cast)
