"""The relearning attack's split of the forget set: a slice to relearn on and the rest to measure.

Hu et al. and Deeb & Roger (ICLR 2025) fine-tune an unlearned model on a small part of what it forgot and
measure the part it did not see again. That needs a well-defined complement: with ``tags/forget.json`` (the
mini world) the unit is a person, so the rest's questions and VerbMem records are about people the slice
never mentions; a real corpus falls back to a document split, where a VerbMem record belongs to the rest
only if it overlaps no relearned document in any way: not its prompt, not the start of its reference, and
not one word 8-gram (compared as words, so doubled spaces, case, Unicode forms and a decoder's spacing
around punctuation do not hide an overlap). KnowMem is not measured there (its questions are not tied to
documents).
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from musebench.errors import ConfigError, DataError

TAGS_FILE = "tags/forget.json"
SHINGLE_WORDS = 8
PREFIX_WORDS = 20  # the start of a record's reference compared on its own (a shorter reference: all of it)
_WORD = re.compile(r"\w+")
RELEARN_ON = ("forget-slice", "retain")


@dataclass(frozen=True)
class ForgetTags:
    """The person (or other unit) of every forget document, VerbMem record and question, by corpus order."""

    unit: str
    forget: tuple[str, ...]
    verbmem_forget: tuple[str, ...]
    knowmem_forget_qa: tuple[str, ...]


@dataclass(frozen=True)
class RelearnSplit:
    train_texts: tuple[str, ...]  # what the attack fine-tunes on
    held_out: object  # a Corpus holding only the rest of the forget set's VerbMem / KnowMem records
    metrics: tuple[str, ...]  # what can be measured on the rest
    unit: str  # "person" or "document"
    slice_units: int  # how many units (people, documents) the slice holds
    rest_units: int
    note: str  # said in the output: how the split was made

    def describe(self) -> dict:
        return {
            "unit": self.unit,
            "slice_units": self.slice_units,
            "rest_units": self.rest_units,
            "train_texts": len(self.train_texts),
            "metrics": list(self.metrics),
            "note": self.note,
            "rest_verbmem": len(self.held_out.verbmem_forget),
            "rest_knowmem": len(self.held_out.knowmem_forget_qa),
        }


def load_tags(data_dir: str | Path | None, corpus) -> ForgetTags | None:
    """``tags/forget.json`` of a corpus directory, checked against the corpus; None when there is none."""
    if data_dir is None:
        return None
    path = Path(data_dir) / TAGS_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"cannot read the forget tags: {err}", file=path) from err
    if not isinstance(raw, dict):
        raise DataError("expected a JSON object", file=path, value=type(raw).__name__)
    parts = {}
    for part in ("forget", "verbmem_forget", "knowmem_forget_qa"):
        tags = raw.get(part)
        expected = len(getattr(corpus, part))
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            raise DataError("expected a list of non-empty strings", file=path, field=part)
        if len(tags) != expected:
            raise DataError(f"{len(tags)} tags for {expected} records", file=path, field=part)
        parts[part] = tuple(tags)
    return ForgetTags(unit=str(raw.get("unit", "person")), **parts)


def words(text: str) -> list[str]:
    """Words as compared for overlap: NFKC, case-folded, punctuation and spacing dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(tokens: list[str], n: int = SHINGLE_WORDS) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def overlaps(record, documents_words: list[str], documents_shingles: set) -> bool:
    """Does a VerbMem record share anything with the relearned documents (prompt, reference start, 8-gram)?"""
    prompt, gt = words(record.prompt), words(record.gt)
    joined = " " + documents_words + " "
    for part in (prompt, gt[:PREFIX_WORDS]):
        if part and " " + " ".join(part) + " " in joined:
            return True
    return bool(shingles(prompt + gt) & documents_shingles)


def _slice_size(n: int, fraction: float, unit: str) -> int:
    if not 0 < fraction < 1:
        raise ConfigError("must be a fraction strictly between 0 and 1", field="--fraction", value=fraction)
    k = round(n * fraction)
    plural = "people" if unit == "person" else f"{unit}s"
    if k < 1:
        raise ConfigError(
            f"leaves nothing to relearn on: {fraction:g} x {n} {plural} rounds to 0", field="--fraction", value=fraction
        )
    if k >= n:
        raise ConfigError(
            f"leaves no held-out part: {fraction:g} x {n} {plural} rounds to all {n}",
            field="--fraction",
            value=fraction,
        )
    return k


def _retain_texts(corpus, n: int, rng: random.Random) -> tuple[str, ...]:
    """As many retain documents as the slice has (same budget of steps, other text)."""
    pool = list(corpus.retain1 or corpus.retain2)
    if not pool:
        raise DataError("relearning on retain needs raw/retain1 or raw/retain2", field="--relearn-on")
    rng.shuffle(pool)
    return tuple((pool * (n // len(pool) + 1))[:n])


def split_forget(
    corpus, tags: ForgetTags | None, fraction: float, relearn_on: str = "forget-slice", seed: int = 0
) -> RelearnSplit:
    """Draw the slice (``fraction`` of the people, or of the documents without tags) with ``seed``."""
    if relearn_on not in RELEARN_ON:
        raise ConfigError(f"expected one of {', '.join(RELEARN_ON)}", field="--relearn-on", value=relearn_on)
    if not corpus.forget:
        raise DataError("the corpus has no forget documents", field="raw/forget")
    rng = random.Random(f"relearn/{seed}")
    if tags is not None:
        units = list(dict.fromkeys(tags.forget))
        k = _slice_size(len(units), fraction, tags.unit)
        chosen = set(rng.sample(units, k))
        slice_docs = [d for d, t in zip(corpus.forget, tags.forget) if t in chosen]
        verbmem = [r for r, t in zip(corpus.verbmem_forget, tags.verbmem_forget) if t not in chosen]
        qa = [q for q, t in zip(corpus.knowmem_forget_qa, tags.knowmem_forget_qa) if t not in chosen]
        metrics = tuple(m for m, recs in (("verbmem_f", verbmem), ("knowmem_f", qa)) if recs)
        plural = "people" if tags.unit == "person" else f"{tags.unit}s"
        note = (
            f"split by {tags.unit} (tags/forget.json): {k} of {len(units)} {plural} relearnable, "
            f"VerbMem and KnowMem measured on the other {len(units) - k}"
        )
        rest = len(units) - k
        unit = tags.unit
    else:
        n = len(corpus.forget)
        k = _slice_size(n, fraction, "document")
        order = list(range(n))
        rng.shuffle(order)
        slice_docs = [corpus.forget[i] for i in sorted(order[:k])]
        doc_words = [words(d) for d in slice_docs]
        joined = " \n ".join(" ".join(w) for w in doc_words)  # never a match across two documents
        doc_shingles = set().union(*(shingles(w) for w in doc_words))
        verbmem = [r for r in corpus.verbmem_forget if not overlaps(r, joined, doc_shingles)]
        qa = []
        metrics = ("verbmem_f",) if verbmem else ()
        note = (
            f"document split (no tags/forget.json): {k} of {n} forget documents relearnable; VerbMem only, on "
            f"the {len(verbmem)} records that overlap no relearned document (prompt, reference start or a "
            f"word {SHINGLE_WORDS}-gram; KnowMem questions are not tied to documents)"
        )
        rest = n - k
        unit = "document"
    if not metrics:
        raise ConfigError(
            "leaves no held-out VerbMem or KnowMem records to measure", field="--fraction", value=fraction
        )
    train = tuple(slice_docs) if relearn_on == "forget-slice" else _retain_texts(corpus, len(slice_docs), rng)
    if relearn_on == "retain":
        note += f"; relearns on {len(train)} retain documents instead of the slice"
    held = replace(corpus, verbmem_forget=verbmem, knowmem_forget_qa=qa, knowmem_forget_qa_paraphrase=[])
    return RelearnSplit(
        train_texts=train, held_out=held, metrics=metrics, unit=unit, slice_units=k, rest_units=rest, note=note
    )
