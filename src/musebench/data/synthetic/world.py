"""The fictional world behind a mini corpus: people with a few short facts, split into MUSE roles.

Every person has the same four facts (home town, birth year, occupation, organisation). Values come from
small shared pools, so a model that never read about a person can still produce a plausible value, but only
by chance the right one: the retrain model's KnowMem on the forget people stays near chance while the
target's reflects what it read. Answers are one word each, so ROUGE-L gives no partial credit for a
wrong guess that shares a common word.

Each group of people draws its names and facts from its own random stream (``Streams``), and the groups are
drawn in a fixed order with the MUSE roles first: adding, removing or resizing a later group (the background,
the filler, the C5 / C6 folds) never changes a byte of an earlier one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from musebench.data.synthetic.names import NameMaker

FACTS = ("town", "year", "occupation", "organisation")
GROUPS = ("forget", "retain1", "retain2", "holdout")
#: People no split uses. ``background``: the base model's pretraining population, read in articles and drilled
#: in Question/Answer form; ``probe``: background people read only in articles, whose held-out questions check
#: that the base extracts facts from text; ``filler``: articles the retrain model reads in place of the forget
#: side, so target and retrain fine-tune for the same number of steps on the same fact values (``mirror_facts``).
BACKGROUND_GROUPS = ("background", "probe", "filler")
#: People whose documents extend the forget set for C5 / C6 (fold 1 is ``forget`` itself). The target reads
#: them, the retrain model does not: they are forget-side training documents, as in the News release.
FOLD_GROUPS = ("fold2", "fold3", "fold4")
#: The order groups are drawn in: a group's names avoid every earlier group's, never a later one's.
DRAW_ORDER = GROUPS + BACKGROUND_GROUPS + FOLD_GROUPS

OCCUPATIONS = [
    "glassblower",
    "cartographer",
    "beekeeper",
    "clockmaker",
    "shipwright",
    "astronomer",
    "potter",
    "weaver",
    "surveyor",
    "brewer",
    "bookbinder",
    "falconer",
    "locksmith",
    "herbalist",
    "stonemason",
    "violinist",
    "engraver",
    "tanner",
    "ferryman",
    "archivist",
    "chemist",
    "sculptor",
    "miller",
    "saddler",
]


class Streams:
    """One independent ``random.Random`` per purpose (``"people/forget"``, ``"docs/fold2"``, ``"order/retain1"``...).

    A stream is seeded by the corpus identity and its purpose alone, so how much one purpose draws never
    shifts another's draws.
    """

    def __init__(self, identity: str):
        self.identity = identity

    def __call__(self, purpose: str) -> random.Random:
        return random.Random(f"{self.identity}/{purpose}")


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


def build_world(
    people_per_group: dict[str, int],
    streams: Streams,
    n_towns: int = 24,
    n_orgs: int = 16,
    n_words: int = 60,
    n_cast: int = 4,
) -> World:
    """Draw a world; the same ``streams`` give the same world. ``people_per_group`` names the MUSE roles
    (``GROUPS``) and, optionally, the background and fold groups."""
    names = NameMaker(streams("pools"))
    towns = [names.town() for _ in range(n_towns)]
    orgs = [names.organisation() for _ in range(n_orgs)]
    words = [names.word() for _ in range(n_words)]
    years = [str(y) for y in range(1940, 2000)]

    def people(group: str, n: int) -> list[Person]:
        names.rng = streams(f"people/{group}")  # names stay unique across groups (one ``used`` set)
        facts_rng = streams(f"facts/{group}")
        out = []
        for _ in range(n):
            facts = {
                "town": facts_rng.choice(towns),
                "year": facts_rng.choice(years),
                "occupation": facts_rng.choice(OCCUPATIONS),
                "organisation": facts_rng.choice(orgs),
            }
            out.append(Person(names.first_name(), names.surname(), facts_rng.choice(["she", "he"]), facts))
        return out

    cast = people("cast", n_cast)
    groups = {g: people(g, people_per_group.get(g, 0)) for g in DRAW_ORDER}
    groups["filler"] = mirror_facts(groups["filler"], forget_side(groups), streams("facts/filler-mirror"))
    return World(groups=groups, towns=towns, organisations=orgs, words=words, cast=cast)


def forget_side(groups: dict[str, list[Person]]) -> list[Person]:
    """The people only the target reads: the forget set and the C5 / C6 fold groups."""
    return [p for g in ("forget",) + FOLD_GROUPS for p in groups.get(g, [])]


def mirror_facts(filler: list[Person], side: list[Person], rng: random.Random) -> list[Person]:
    """The filler people with the forget side's fact values, each fact type shuffled on its own.

    The retrain model reads the filler in place of the forget side. With values drawn afresh, the two models
    learned different answer frequencies by chance (seed 0, default size: "miller" was 6 forget-side
    occupations against 1 in the filler, and the target answered it for 4 retain questions it got wrong), and
    that chance moved the utility gap. Shuffling each fact type across people keeps every value's count and
    breaks each person's binding, so the two models differ in who the facts belong to, not in how often each
    value occurs. Names, pronouns and documents stay the filler's own."""
    if not filler or not side:
        return filler
    columns = {}
    for fact in FACTS:
        values = [side[i % len(side)].facts[fact] for i in range(len(filler))]
        rng.shuffle(values)
        columns[fact] = values
    return [replace(p, facts={f: columns[f][i] for f in FACTS}) for i, p in enumerate(filler)]
