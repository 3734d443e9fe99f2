"""The documents of a takedown request (and the never-seen holdout), read with the corpus loaders.

DOCS is a ``.txt`` file (documents separated by a blank line), a ``.json`` list or ``.jsonl`` file of
strings or ``{"text": ...}`` objects, or a folder of ``.txt`` files (one document each). A holdout that
overlaps the forget set would make "never seen" wrong, so overlap is detected by hashing: whole documents
after normalisation (case, Unicode, whitespace), and word 8-gram shingles (a holdout document that shares
half its shingles with the forget set is a copy, not an unseen document).

Documents about one person (or from one source) are not independent: a ``.json`` / ``.jsonl`` object may name
its unit with ``"group"`` (or ``"person"`` / ``"source"``), and the verdict then resamples units, not
documents. Without such a key every document is its own unit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from musebench.data.files import ProblemSink, documents_from_items, parse_items, read_document_folder
from musebench.data.loaders import normalise_text
from musebench.errors import DataError

SHINGLE_WORDS = 8
GROUP_KEYS = ("group", "person", "source")  # the first present names a document's unit of independence
OVERLAP_SHARE = 0.5  # a holdout document sharing at least this share of its shingles with forget is a copy


@dataclass(frozen=True)
class DocumentSet:
    """Documents read from one source, with the content hash that names them in ``audit.json``."""

    source: str
    documents: tuple[str, ...]
    groups: tuple[str, ...] | None = None  # the unit (person, source) of every document, when known

    @property
    def hashes(self) -> list[str]:
        return [doc_hash(d) for d in self.documents]

    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.hashes).encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.documents)

    def units(self) -> int:
        return len(set(self.groups)) if self.groups is not None else len(self.documents)


def doc_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:16]


def load_documents(path: str | Path, role: str = "forget") -> DocumentSet:
    """Read DOCS; an unreadable, empty or all-blank source is one ``DataError`` naming it."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{role} documents not found", file=path)
    if path.is_dir():
        docs = read_document_folder(path)
    else:
        sink = ProblemSink(strict=False)  # empty documents are an error here, not the loader's warning
        docs = documents_from_items(parse_items(path), path, sink)
        errors = [p for p in sink.problems if p.severity == "error"]
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise DataError(errors[0].message + more, file=path, field=errors[0].field)
    blank = [i for i, d in enumerate(docs) if not d.strip()]
    if not docs:
        raise DataError(f"no {role} documents in the file", file=path)
    if blank:
        more = f" (and {len(blank) - 1} more)" if len(blank) > 1 else ""
        raise DataError(f"empty{more}; remove empty {role} documents", file=path, field=f"[{blank[0]}]")
    groups = None if path.is_dir() else read_groups(parse_items(path), path)
    return DocumentSet(str(path), tuple(docs), groups)


def with_units(docs: DocumentSet, units: dict[str, str], source: str) -> DocumentSet:
    """``docs`` with every document's unit looked up by its text in ``units`` (a corpus's ``tags/units.json``,
    ``--units-from``); a document it does not label, or documents that already name theirs, is a ``DataError``."""
    if docs.groups is not None:
        raise DataError(
            "the documents already name their units; give --units-from or the keys, not both", file=docs.source
        )
    missing = [i for i, d in enumerate(docs.documents) if d not in units]
    if missing:
        raise DataError(
            f"{len(missing)} of {len(docs)} documents have no unit there (first: document "
            f"{missing[0]}); the corpus must be the one the documents come from",
            file=source,
            field="tags/units.json",
        )
    return DocumentSet(docs.source, docs.documents, tuple(units[d] for d in docs.documents))


def read_groups(items: list, path: Path) -> tuple[str, ...] | None:
    """Every object's unit (``group``, ``person`` or ``source``), or None when no item names one."""
    keys = [next((k for k in GROUP_KEYS if k in it), None) if isinstance(it, dict) else None for it in items]
    if not any(keys):
        return None
    missing = [i for i, k in enumerate(keys) if k is None]
    if missing:
        raise DataError(
            f"document {missing[0]} names no {' / '.join(GROUP_KEYS)} while others do; give every "
            "document its unit, or none",
            file=path,
            field=GROUP_KEYS[0],
        )
    labels = [items[i][k] for i, k in enumerate(keys)]
    bad = [i for i, v in enumerate(labels) if not isinstance(v, (str, int)) or isinstance(v, bool) or v == ""]
    if bad:
        raise DataError(
            f"document {bad[0]}: a unit must be a non-empty string or an integer", file=path, field=keys[bad[0]]
        )
    return tuple(str(v) for v in labels)


def shingles(text: str, n: int = SHINGLE_WORDS) -> set[str]:
    words = normalise_text(text).split()
    if len(words) < n:
        return {hashlib.sha1(" ".join(words).encode()).hexdigest()[:16]} if words else set()
    return {hashlib.sha1(" ".join(words[i : i + n]).encode()).hexdigest()[:16] for i in range(len(words) - n + 1)}


def check_overlap(forget: DocumentSet, holdout: DocumentSet) -> None:
    """A holdout document equal to, or largely copied from, the forget set is a ``DataError``."""
    forget_hashes = set(forget.hashes)
    same = [i for i, h in enumerate(holdout.hashes) if h in forget_hashes]
    if same:
        raise DataError(
            f"{len(same)} holdout document(s) also appear in the forget set (first: holdout document "
            f"{same[0]}); the holdout must be documents the model never saw",
            file=holdout.source,
        )
    forget_shingles = set().union(*(shingles(d) for d in forget.documents))
    copied = []
    for i, doc in enumerate(holdout.documents):
        own = shingles(doc)
        if own and len(own & forget_shingles) / len(own) >= OVERLAP_SHARE:
            copied.append(i)
    if copied:
        raise DataError(
            f"{len(copied)} holdout document(s) share at least {OVERLAP_SHARE:.0%} of their "
            f"{SHINGLE_WORDS}-word shingles with the forget set (first: holdout document {copied[0]}); "
            "the holdout must be documents the model never saw",
            file=holdout.source,
        )
