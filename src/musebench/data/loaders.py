"""Load a ``Corpus`` from a release directory, a hub dataset, or a practitioner's own files.

All three give the same typed ``Corpus``; optional parts that are absent stay empty and a warning names the
criteria they switch off (``Corpus.missing_criteria()``). Every problem is one ``DataError`` naming the
file, the field and the record.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from musebench.data import hub
from musebench.data.corpus import Corpus
from musebench.data.files import (
    DOCUMENT_SUFFIXES,
    RECORD_SUFFIXES,
    ProblemSink,
    documents_from_items,
    find_variants,
    parse_items,
    read_document_folder,
)
from musebench.data.layout import LAYOUT, LEGACY_NAMES, REQUIRED_PARTS
from musebench.data.parts import (  # noqa: F401  (re-exported: validate and callers import them from here)
    QA_FIELDS,
    RECORD_FIELDS,
    VERBMEM_FIELDS,
    part_from_items,
    report_missing_criteria,
)
from musebench.data.units import read_units
from musebench.errors import DataError

FOLD_FAMILIES = ("scal", "sust")
FOLD_FILE = re.compile(r"^forget_(\d+)\.(json|jsonl|txt)$")
FOLD_QA_FILE = re.compile(r"^forget_(\d+)_qa\.(json|jsonl)$")
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def read_part(path: str | Path, attr: str) -> list:
    """Read one corpus part from a file (or, for documents, a folder of .txt files)."""
    path = Path(path)
    if path.is_dir():
        if attr in RECORD_FIELDS:
            raise DataError(f"'{attr}' needs a .json or .jsonl file of records, not a folder", file=path)
        return read_document_folder(path)
    if attr in RECORD_FIELDS and path.suffix.lower() == ".txt":
        raise DataError(
            f"'{attr}' needs a .json or .jsonl file with fields {RECORD_FIELDS[attr]}, not plain .txt",
            file=path,
        )
    return part_from_items(attr, parse_items(path), path)


def split_name(attr: str) -> str:
    """The release name of a part without extension, e.g. ``knowmem/forget_qa``."""
    return LAYOUT[attr].removesuffix(".json")


def locate_part(root: Path, attr: str, sink: ProblemSink) -> Path | None:
    """The file holding ``attr`` under ``root``: newest name first, then older names; any suffix."""
    suffixes = RECORD_SUFFIXES if attr in RECORD_FIELDS else DOCUMENT_SUFFIXES
    found = []
    for rel in [LAYOUT[attr], *LEGACY_NAMES.get(attr, [])]:
        stem = root / rel.removesuffix(".json")
        if attr in RECORD_FIELDS and find_variants(stem, (".txt",)):
            sink.error(
                DataError(
                    f"'{attr}' records need .json or .jsonl (fields {', '.join(RECORD_FIELDS[attr])}), not plain .txt",
                    file=stem.with_name(stem.name + ".txt"),
                )
            )
        folders = [stem.with_name(stem.name + x) for x in ("", *suffixes) if stem.with_name(stem.name + x).is_dir()]
        if folders:  # a folder where the split file belongs: reading past it would drop a criterion silently
            sink.error(
                DataError(
                    f"is a directory; split '{split_name(attr)}' must be a {' / '.join(suffixes)} file", file=folders[0]
                )
            )
        variants = find_variants(stem, suffixes)
        if len(variants) > 1:
            names = ", ".join(p.name for p in variants)
            sink.error(DataError(f"one split stored twice ({names}); keep one file", file=variants[0]))
        if variants:
            found.append(variants[0])
    if len(found) > 1:
        sink.warning(
            f"both {found[0].relative_to(root)} and {found[1].relative_to(root)} exist; "
            f"using {found[0].relative_to(root)}",
            found[1],
        )
    return found[0] if found else None


def discover_folds(folder: Path, sink: ProblemSink, pattern: re.Pattern = FOLD_FILE) -> dict[int, Path]:
    """``forget_{k}.{json,jsonl,txt}`` files of a scal/ or sust/ folder (or, with ``FOLD_QA_FILE``, the
    ``forget_{k}_qa.{json,jsonl}`` files of knowmem/scal or knowmem/sust), by fold number."""
    folds: dict[int, Path] = {}
    if not folder.is_dir():
        return folds
    for path in sorted(folder.iterdir()):
        match = pattern.match(path.name)
        if not match or not path.is_file():
            continue
        k = int(match.group(1))
        if k in folds:
            sink.error(DataError(f"fold {k} stored twice ({folds[k].name}, {path.name}); keep one file", file=path))
            continue
        folds[k] = path
    return dict(sorted(folds.items()))


def _metadata_name(root: Path, sink: ProblemSink) -> str | None:
    meta = root / "corpus.json"
    if not meta.is_file():
        return None
    try:
        name = json.loads(meta.read_text(encoding="utf-8")).get("name")
    except (ValueError, AttributeError):
        sink.warning("unreadable corpus metadata; using the directory name", meta)
        return None
    return name if isinstance(name, str) and name else None


def read_directory(root: str | Path, sink: ProblemSink, name: str | None = None) -> tuple[Corpus, dict[str, Path]]:
    """Read a release-layout directory; returns the corpus and the file of every part found.

    With a strict ``sink`` the first problem raises; with a collecting one every problem is recorded and
    the parts that could be read are still returned (what ``validate`` needs).
    """
    root = Path(root)
    if not root.is_dir():
        sink.error(DataError("corpus directory not found", file=root))
        return Corpus(name=name or root.name, source=str(root)), {}
    corpus = Corpus(name=name or _metadata_name(root, sink) or root.resolve().name, source=str(root))
    paths: dict[str, Path] = {}
    for attr in LAYOUT:
        path = locate_part(root, attr, sink)
        if path is None:
            if attr in REQUIRED_PARTS:
                tried = ", ".join(f"{split_name(attr)}{s}" for s in DOCUMENT_SUFFIXES)
                sink.error(
                    DataError(
                        f"missing required split '{split_name(attr)}' (none of {tried})",
                        file=root / LAYOUT[attr],
                    )
                )
            continue
        paths[attr] = path
        try:
            items = parse_items(path)
        except DataError as err:
            sink.error(err)
            continue
        setattr(corpus, attr, part_from_items(attr, items, path, sink))
        if not items:
            if attr in REQUIRED_PARTS:
                sink.error(DataError("required split is empty", file=path))
            else:
                sink.warning("file holds no records", path)
    for family in FOLD_FAMILIES:
        folds = {}
        for k, path in discover_folds(root / family, sink).items():
            paths[f"{family}/forget_{k}"] = path
            try:
                docs = documents_from_items(parse_items(path), path, sink)
            except DataError as err:
                sink.error(err)
                continue
            if not docs:
                sink.warning("fold holds no documents", path)
            folds[k] = docs
        setattr(corpus, family, {k: v for k, v in folds.items() if v})
        questions = {}
        for k, path in discover_folds(root / "knowmem" / family, sink, FOLD_QA_FILE).items():
            paths[f"knowmem/{family}/forget_{k}_qa"] = path
            try:
                questions[k] = part_from_items("knowmem_forget_qa", parse_items(path), path, sink)
            except DataError as err:
                sink.error(err)
        setattr(corpus, f"{family}_qa", {k: v for k, v in questions.items() if v})
    try:
        read_units(root, corpus)
    except DataError as err:
        sink.error(err)
    return corpus, paths


def load_corpus_dir(root: str | Path, *, name: str | None = None) -> Corpus:
    """Load a local directory in the release layout (see ``musebench.data.layout``)."""
    sink = ProblemSink(strict=True)
    corpus, _ = read_directory(root, sink, name=name)
    report_missing_criteria(corpus, sink, root)
    return corpus


def is_dataset_dir(root: Path) -> bool:
    """True when ``root`` holds hub-style configs as parquet files or saved datasets (raw/forget.parquet)."""
    raw = root / "raw"
    return (raw / "forget.parquet").is_file() or (raw / "dataset_dict.json").is_file()


def load_corpus(
    source: str | Path,
    *,
    name: str | None = None,
    hub_config_map: dict[str, str] | None = None,
    dataset_loader=None,
) -> Corpus:
    """Load a corpus from a local release directory or a hub dataset name such as ``muse-bench/MUSE-News``.

    A local directory whose configs are parquet files or saved datasets (``DIR/raw/forget.parquet``) is read
    like the hub. ``dataset_loader(name, config, split)`` replaces ``datasets.load_dataset`` (tests, mirrors);
    ``hub_config_map`` renames configs (``{"knowmem": "knowmem_v2"}``).
    """
    path = Path(source)
    if dataset_loader is None and path.is_dir():
        if is_dataset_dir(path):
            return hub.load_hub_corpus(
                str(path),
                loader=hub.local_dataset_loader(path),
                config_map=hub_config_map,
                corpus_name=name or path.resolve().name,
            )
        return load_corpus_dir(path, name=name)
    if dataset_loader is None and path.exists():
        raise DataError("expected a corpus directory or a hub dataset name, got a file", file=path)
    if dataset_loader is None and (not _HUB_NAME.match(str(source)) or path.parent.is_dir()):
        raise DataError("corpus directory not found", file=path)
    try:
        return hub.load_hub_corpus(str(source), loader=dataset_loader, config_map=hub_config_map, corpus_name=name)
    except DataError as err:
        if dataset_loader is None:
            raise DataError(
                f"no local directory of that name, and as a hub dataset: {err.message}",
                file=err.file,
                field=err.field,
                value=err.value,
            ) from err
        raise


def load_corpus_from_files(
    *,
    forget: str | Path,
    retain: str | Path,
    holdout: str | Path | None = None,
    forget_qa: str | Path | None = None,
    retain_qa: str | Path | None = None,
    forget_qa_icl: str | Path | None = None,
    retain_qa_icl: str | Path | None = None,
    verbmem: str | Path | None = None,
    retain1: str | Path | None = None,
    privleak_forget: str | Path | None = None,
    privleak_holdout: str | Path | None = None,
    name: str = "custom",
) -> Corpus:
    """A corpus from a practitioner's own files: each a .txt/.json/.jsonl file or a folder of .txt files.

    ``retain`` is what both target and retrain saw (``retain2``); ``retain1``, when given, is the
    regulariser set unlearning may use. Without privleak files, PrivLeak uses the raw ``forget`` documents
    against ``holdout``. Missing optional parts switch criteria off with a warning naming them.
    """
    given = {
        "forget": forget,
        "retain2": retain,
        "holdout": holdout,
        "retain1": retain1,
        "verbmem_forget": verbmem,
        "knowmem_forget_qa": forget_qa,
        "knowmem_retain_qa": retain_qa,
        "knowmem_forget_qa_icl": forget_qa_icl,
        "knowmem_retain_qa_icl": retain_qa_icl,
        "privleak_forget": privleak_forget,
        "privleak_holdout": privleak_holdout,
    }
    corpus = Corpus(name=name, source="files: " + ", ".join(f"{k}={v}" for k, v in given.items() if v))
    for attr, path in given.items():
        if path is None:
            continue
        setattr(corpus, attr, read_part(path, attr))
        if not getattr(corpus, attr) and attr in REQUIRED_PARTS:
            raise DataError("required split is empty", file=path)
    sink = ProblemSink(strict=True)
    if corpus.holdout and not corpus.privleak_forget and not corpus.privleak_holdout:
        corpus.privleak_forget = list(corpus.forget)
        corpus.privleak_holdout = list(corpus.holdout)
    leaked = set(map(normalise_text, corpus.forget)) & set(map(normalise_text, corpus.holdout))
    if leaked:
        sink.warning(
            f"{len(leaked)} holdout document(s) also appear in forget: PrivLeak would be biased",
            holdout or "",
        )
    report_missing_criteria(corpus, sink)
    return corpus


def normalise_text(text: str) -> str:
    """Text as compared for leakage and nesting: Unicode NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
