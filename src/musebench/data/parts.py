"""Corpus parts built from raw items, shared by the directory loader and the hub loader.

Both ``loaders`` and ``hub`` import this module, so neither needs the other's names (no import circle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from musebench.data.corpus import Corpus
from musebench.data.files import MissingDataWarning, ProblemSink, documents_from_items, records_from_items
from musebench.data.records import QAPair, VerbMemRecord

QA_FIELDS = ("question", "answer")
VERBMEM_FIELDS = ("prompt", "gt")

#: Corpus attribute -> the string fields of its records; attributes not listed hold plain documents.
RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "verbmem_forget": VERBMEM_FIELDS,
    "knowmem_forget_qa": QA_FIELDS,
    "knowmem_retain_qa": QA_FIELDS,
    "knowmem_forget_qa_icl": QA_FIELDS,
    "knowmem_retain_qa_icl": QA_FIELDS,
    "knowmem_forget_qa_paraphrase": QA_FIELDS,
}


def part_from_items(attr: str, items: list[Any], source: str | Path, sink: ProblemSink | None = None) -> list:
    """Typed records of corpus part ``attr`` (documents, ``QAPair`` or ``VerbMemRecord``) from raw items."""
    fields = RECORD_FIELDS.get(attr)
    if fields is None:
        return documents_from_items(items, source, sink)
    return records_from_items(items, source, QAPair if fields == QA_FIELDS else VerbMemRecord, sink)


def report_missing_criteria(corpus: Corpus, sink: ProblemSink, where: str | Path = "") -> None:
    """One warning naming every criterion the corpus cannot support, and the parts it lacks."""
    missing = corpus.missing_criteria()
    if missing:
        listed = "; ".join(f"{crit} (no {', '.join(parts)})" for crit, parts in missing.items())
        sink.warning(f"corpus '{corpus.name}' cannot compute: {listed}", where, category=MissingDataWarning)
