"""Per-split summary rows of a corpus (records, characters, tokens) for ``validate`` and ``show``."""

from __future__ import annotations

from dataclasses import dataclass

from musebench.data.corpus import Corpus
from musebench.data.layout import LAYOUT, REQUIRED_PARTS
from musebench.data.records import QAPair, VerbMemRecord
from musebench.errors import ConfigError


@dataclass(frozen=True)
class SplitSummary:
    """Size of one split; ``tokens`` only when a tokenizer was given (special tokens not counted)."""

    split: str
    records: int
    characters: int
    tokens: int | None = None


def corpus_splits(corpus: Corpus) -> dict[str, list]:
    """Split name (release path without extension, e.g. ``knowmem/forget_qa``, ``scal/forget_2``) -> records.

    Required splits are always listed; optional ones only when present.
    """
    out = {}
    for attr, rel in LAYOUT.items():
        records = getattr(corpus, attr)
        if records or attr in REQUIRED_PARTS:
            out[rel.removesuffix(".json")] = records
    for family in ("scal", "sust"):
        for k, docs in sorted(getattr(corpus, family).items()):
            out[f"{family}/forget_{k}"] = docs
        for k, pairs in sorted(getattr(corpus, f"{family}_qa").items()):
            out[f"knowmem/{family}/forget_{k}_qa"] = pairs
    return out


def record_text(record: str | QAPair | VerbMemRecord) -> str:
    """All the text of one record, as counted in characters and tokens."""
    if isinstance(record, QAPair):
        return record.question + "\n" + record.answer
    if isinstance(record, VerbMemRecord):
        return record.prompt + record.gt
    return record


def describe(corpus: Corpus, tokenizer=None) -> list[SplitSummary]:
    """One row per split: records, characters and (with ``tokenizer``) tokens."""
    rows = []
    for split, records in corpus_splits(corpus).items():
        texts = [record_text(r) for r in records]
        tokens = None
        if tokenizer is not None:
            tokens = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]) if texts else 0
        rows.append(SplitSummary(split, len(records), sum(len(t) for t in texts), tokens))
    return rows


def split_records(corpus: Corpus, split: str) -> list:
    """The records of one split by its release name (``raw/forget``, ``sust/forget_1``...).

    Unknown names raise ``ConfigError`` listing the splits the corpus has.
    """
    splits = corpus_splits(corpus)
    if split not in splits:
        raise ConfigError(
            f"corpus '{corpus.name}' has no split of that name; choose one of {', '.join(splits)}",
            field="--split",
            value=split,
        )
    return splits[split]
