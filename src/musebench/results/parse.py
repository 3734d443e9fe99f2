"""Read ``results.json`` back into ``musebench.results.records``, checking every field on the way.

Nothing downstream recomputes a score, so the file is checked before anything is drawn. The records are the
file's schema: ``musebench.schema``'s walker reads it along their fields and each record's ``read_check``
adds the file's rules, so every problem is named by its JSON path
(``methods.npo_gdr.checkpoints[2].scores.knowmem_f``) and value, all of them in one error, in the format of
every musebench file. Keys this version does not know are passed over (a newer musebench's extra score or
block is not an error).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from musebench.errors import DataError, check_schema
from musebench.io import read_json
from musebench.results.records import RESULTS_FILE, SCHEMA_VERSION, MethodResult, Reference, Results
from musebench.results.robustness import Robustness
from musebench.schema import Problems, check_value, from_mapping

MISSING_FILE = "results file not found (is this a `musebench run` output directory? run the experiment first)"
#: Blocks whose shape differs from the records' (read one by one, below); the rest is ``Results``' own fields
#: (``source`` is where it was read from, never a key of the file).
_RESHAPED = ("reference", "methods", "robustness", "source")


def load_results(path: str | Path, complete: bool = True) -> Results:
    """Read ``RUN_DIR/results.json`` (or the file itself); ``complete``: both references must be there (the
    report's need; ``compare`` and the run's own table take a run that is still going)."""
    path = Path(path)
    if path.is_dir() or (not path.exists() and path.suffix != ".json"):
        path = path / RESULTS_FILE
    return parse_results(read_json(path, missing=MISSING_FILE), path, complete=complete)


def _read(cls: type, data: Any, path: str, problems: Problems) -> Any:
    return from_mapping(cls, data, path, problems, unknown="skip")


def parse_results(doc: Any, file: Path | str, complete: bool = True) -> Results:
    """Check a parsed ``results.json`` document into ``Results``; one ``DataError`` names every bad field."""
    if not isinstance(doc, dict):
        raise DataError("expected a JSON object at the top level", file=file, value=type(doc).__name__)
    check_schema(doc, SCHEMA_VERSION, file, "results file")
    problems = Problems(str(file), DataError)
    results = _read(Results, {k: v for k, v in doc.items() if k not in _RESHAPED}, "", problems)
    refs: dict[str, Reference] = {}
    references = check_value(Mapping[str, Any], doc.get("reference"), "reference", problems)
    for role in ("target", "retrain") if references is not None else ():
        if references.get(role) is None:  # results.json is rewritten as stages finish: maybe not yet
            if complete:
                problems.add(f"reference.{role}", f"missing (has the run evaluated the {role} model yet?)")
            continue
        ref = _read(Reference, references[role], f"reference.{role}", problems)
        if ref is not None:
            refs[role] = ref
    methods: dict[str, MethodResult] = {}
    for name, raw in (check_value(Mapping[str, Any], doc.get("methods"), "methods", problems) or {}).items():
        raw = check_value(Mapping[str, Any], raw, f"methods.{name}", problems)  # its name is its key
        method = None if raw is None else _read(MethodResult, {**raw, "name": name}, f"methods.{name}", problems)
        if method is not None:
            methods[name] = method
    robustness = None
    if doc.get("robustness") is not None:
        robustness = _robustness(doc["robustness"], list(methods), problems)
    problems.raise_if_any()
    return replace(
        results,
        target=refs.get("target"),
        retrain=refs.get("retrain"),
        methods=methods,
        robustness=robustness,
        source=Path(file),
    )


def _robustness(raw: Any, methods: list[str], problems: Problems) -> Robustness | None:
    robustness = _read(Robustness, raw, "robustness", problems)
    for model in robustness.methods if robustness is not None else ():
        if model not in methods:
            problems.add(f"robustness.methods.{model}", "not one of the run's methods", model)
    return robustness


def read_robustness(raw: Any, file: Path | str, methods: list[str]) -> Robustness | None:
    """C7's block alone, checked as a reader of the file would (the experiment, before it records it)."""
    problems = Problems(str(file), DataError)
    robustness = _robustness(raw, methods, problems)
    problems.raise_if_any()
    return robustness
