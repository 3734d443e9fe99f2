"""Reading one corpus file (.json list, .jsonl, .txt, or a folder of .txt) into checked records.

Every reader can run strict (raise the first ``DataError``, as loaders do) or collecting (keep going and
record every problem, as ``musebench data validate`` does); both share the same checks, so the validator
finds exactly what a loader would refuse. Records are read by the schema walker (``musebench.schema``) and
every problem is named in its one format, ``FILE: [i].FIELD: MESSAGE (got VALUE)``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musebench.errors import DataError, shown_value
from musebench.schema import Problems, from_mapping

logger = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = (".json", ".jsonl", ".txt")
RECORD_SUFFIXES = (".json", ".jsonl")


class DataWarning(UserWarning):
    """Something in a corpus is suspicious but usable (both old and new names, empty records, leakage)."""


class MissingDataWarning(DataWarning):
    """An optional corpus part is absent, so some criteria cannot be computed."""


@dataclass(frozen=True)
class Problem:
    """One finding about a corpus: ``severity`` is ``"error"`` (unusable) or ``"warning"``."""

    severity: str
    file: str
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f": {self.field}" if self.field else "")
        return f"{self.severity}: {where}: {self.message}"


class ProblemSink:
    """Where readers send problems: strict mode raises errors at once, collect mode keeps them all."""

    def __init__(self, strict: bool = True):
        self.strict = strict
        self.problems: list[Problem] = []

    def error(self, err: DataError) -> None:
        if self.strict:
            raise err
        self.problems.append(Problem("error", err.file or "", err.field, _message(err)))

    def warning(
        self,
        message: str,
        file: str | Path = "",
        field: str | None = None,
        category: type[Warning] = DataWarning,
    ) -> None:
        if self.strict:
            where = f"{file}: " if file else ""
            warnings.warn(f"{where}{message}", category, stacklevel=3)
            return
        self.problems.append(Problem("warning", str(file), field, message))


def _message(err: DataError) -> str:
    """The error's message and value as its own line shows them (``MESSAGE (got VALUE)``)."""
    return err.message + ("" if err.value is None else f" (got {shown_value(err.value)})")


def read_text(path: str | Path) -> str:
    """The file's text, decoded strictly as UTF-8 (a BOM is allowed); errors name the byte and line."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=path)
    if path.is_dir():
        raise DataError("expected a file, found a directory", file=path)
    try:
        data = path.read_bytes()
    except OSError as exc:  # unreadable for this user (permissions), a broken mount...
        raise DataError(f"cannot read it: {exc.strerror or exc}", file=path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"invalid UTF-8 at byte {exc.start} (line {line}): {exc.reason}",
            file=path,
            value=data[exc.start : exc.start + 4],
        ) from None


def parse_items(path: str | Path) -> list[Any]:
    """The raw items of a file: a .json list, one JSON value per .jsonl line, or .txt documents.

    A .txt file holds documents separated by a blank line ("\\n\\n"), as in the MUSE release.
    """
    path = Path(path)
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return split_txt_documents(text)
    if suffix == ".jsonl":
        items = []
        # Split on "\n" only: str.splitlines() would also break inside strings at U+0085, U+2028...
        for lineno, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"malformed JSON on line {lineno}, column {exc.colno}: {exc.msg}", file=path) from None
            except RecursionError:
                raise DataError(f"JSON on line {lineno} is nested too deeply to read", file=path) from None
        return items
    if suffix == ".json":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            hint = " (one value per line? name the file .jsonl)" if exc.msg == "Extra data" else ""
            raise DataError(
                f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}", file=path
            ) from None
        except RecursionError:
            raise DataError("JSON nested too deeply to read", file=path) from None
        if not isinstance(value, list):
            raise DataError(f"expected a JSON list of records, got a JSON {_json_type(value)}", file=path)
        return value
    raise DataError(f"unsupported file type '{path.suffix}'; use .json, .jsonl or .txt", file=path)


def split_txt_documents(text: str) -> list[str]:
    """Documents of a .txt file: blocks separated by a blank line, surrounding whitespace stripped."""
    text = text.replace("\r\n", "\n")
    return [doc.strip() for doc in text.split("\n\n") if doc.strip()]


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def documents_from_items(items: Iterable[Any], source: str | Path, sink: ProblemSink | None = None) -> list[str]:
    """Documents from raw items: each a string, or an object with a string ``text`` (hub rows); record ``i``'s
    problems are named ``[i]`` (``[i].text``), as the schema walker names a path."""
    sink = sink or ProblemSink()
    docs = []
    for i, item in enumerate(items):
        where = f"[{i}]"
        if isinstance(item, dict):
            where, item = f"[{i}].text", item.get("text")
        if not isinstance(item, str):
            shape = "a string, or an object with a 'text' string"
            sink.error(
                DataError(
                    f"missing ({shape})" if item is None else f"expected {shape}", file=source, field=where, value=item
                )
            )
        elif _is_text(item, source, where, sink, "document"):
            docs.append(item)
    return docs


def records_from_items(items: Iterable[Any], source: str | Path, record: type, sink: ProblemSink | None = None) -> list:
    """Typed records (``QAPair``, ``VerbMemRecord``: string fields) read by the schema walker; record ``i``'s
    problems are named ``[i].FIELD``, and keys the record type does not name are passed over."""
    sink = sink or ProblemSink()
    names = [f.name for f in dataclasses.fields(record)]
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            sink.error(
                DataError(f"expected an object with {', '.join(names)}", file=source, field=f"[{i}]", value=item)
            )
            continue
        problems = Problems(str(source), DataError)
        value = from_mapping(record, item, f"[{i}]", problems, unknown="skip")
        for path, message, got in problems.entries:
            sink.error(DataError(message, file=source, field=path, value=got))
        if value is not None and all(_is_text(getattr(value, n), source, f"[{i}].{n}", sink, n) for n in names):
            out.append(value)
    return out


def _is_text(text: str, source: str | Path, where: str, sink: ProblemSink, what: str) -> bool:
    """Unicode text (JSON can carry lone surrogates, ``"\\ud800"``, which UTF-8 cannot); empty is a warning."""
    if not is_unicode(text):
        sink.error(DataError("holds a lone surrogate (\\ud800-\\udfff), not Unicode text", file=source, field=where))
        return False
    if not text.strip():
        sink.warning(f"empty {what}", source, where)
    return True


def is_unicode(text: str) -> bool:
    """False for strings JSON can carry but UTF-8 cannot (lone surrogates from ``"\\ud800"`` escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_document_folder(folder: str | Path) -> list[str]:
    """One document per ``*.txt`` file of ``folder``, in file-name order."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
    if not files:
        raise DataError("folder holds no .txt documents", file=folder)
    return [read_text(p).strip() for p in files]


def find_variants(stem: Path, suffixes: Sequence[str] = DOCUMENT_SUFFIXES) -> list[Path]:
    """Existing files ``stem.json``/``stem.jsonl``/``stem.txt`` (any of ``suffixes``)."""
    return [stem.with_name(stem.name + s) for s in suffixes if stem.with_name(stem.name + s).is_file()]
