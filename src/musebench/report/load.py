"""Read an experiment's ``results.json`` into typed, validated dataclasses.

The report never recomputes anything: every number it shows comes from this file. So the file is checked
before anything is drawn, and every problem is named by its JSON path (``methods.npo_gdr.checkpoints[2].
scores.knowmem_f``) and value in one line. Parts an experiment did not run (C5, C6, a metric left out of a
checkpoint's evaluation) are simply absent here, and the report shows them as "not run".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musebench.errors import DataError, check_schema
from musebench.io import read_json

SCHEMA_VERSION = 1

#: score key -> allowed closed range; ROUGE scores are x 100, AUC is a probability, PrivLeak is unbounded (%).
SCORE_RANGES: dict[str, tuple[float, float]] = {
    "verbmem_f": (0.0, 100.0),
    "knowmem_f": (0.0, 100.0),
    "knowmem_r": (0.0, 100.0),
    "auc": (0.0, 1.0),
    "privleak": (-math.inf, math.inf),
}


@dataclass(frozen=True)
class Scored:
    """Scores of one evaluated model, with bootstrap confidence intervals where the run computed them."""

    scores: Mapping[str, float]
    ci: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def get(self, key: str) -> float | None:
        return self.scores.get(key)


@dataclass(frozen=True)
class Checkpoint(Scored):
    label: str = ""


@dataclass(frozen=True)
class ScalabilityFold(Scored):
    """C5: the method unlearned ``forget_k`` (nested, growing with k) starting from the target."""

    fold: int = 0
    forget_docs: int | None = None
    forget_tokens: int | None = None
    selected: str | None = None


@dataclass(frozen=True)
class SustainabilityRequest(Scored):
    """C6: the state after the ``request``-th disjoint fold was unlearned, each from the previous result."""

    request: int = 0
    selected: str | None = None


@dataclass(frozen=True)
class MethodResult:
    name: str
    checkpoints: tuple[Checkpoint, ...]
    selected: str
    selection_reason: str | None = None
    scalability: tuple[ScalabilityFold, ...] = ()
    sustainability: tuple[SustainabilityRequest, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    timing_s: Mapping[str, float] = field(default_factory=dict)

    @property
    def selected_checkpoint(self) -> Checkpoint:
        return next(c for c in self.checkpoints if c.label == self.selected)


@dataclass(frozen=True)
class Results:
    """One experiment run: the target and retrain references and every method's checkpoints."""

    name: str
    target: Scored
    retrain: Scored
    methods: Mapping[str, MethodResult]
    retrain_auc: float | None = None
    corpus: Mapping[str, Any] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    timing_s: Mapping[str, float] = field(default_factory=dict)
    source: Path | None = None
    robustness: Mapping[str, Any] = field(default_factory=dict)  # C7, checked by report.robustness


class _Checker:
    """Collects every problem of a document, so one run of the report names them all at once."""

    def __init__(self, file: Path):
        self.file = file
        self.problems: list[tuple[str, str, object]] = []

    def fail(self, path: str, message: str, value: object = None) -> None:
        self.problems.append((path, message, value))

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        path, message, value = self.problems[0]
        rest = self.problems[1:]
        if rest:
            shown = ", ".join(p for p, _, _ in rest[:3]) + (", ..." if len(rest) > 3 else "")
            message += f"; {len(rest)} more problem(s) at {shown}"
        raise DataError(message, file=self.file, field=path, value=value)

    def mapping(self, obj: Any, path: str, required: bool = True) -> dict | None:
        if obj is None and not required:
            return None
        if not isinstance(obj, dict):
            self.fail(path, "expected a JSON object" if obj is not None else "missing", obj)
            return None
        return obj

    def text(self, obj: Any, path: str, required: bool = True) -> str | None:
        if obj is None and not required:
            return None
        if not isinstance(obj, str) or not obj:
            self.fail(path, "expected a non-empty string" if obj is not None else "missing", obj)
            return None
        return obj

    def number(self, obj: Any, path: str, lo: float = -math.inf, hi: float = math.inf) -> float | None:
        if isinstance(obj, bool) or not isinstance(obj, (int, float)) or not math.isfinite(obj):
            self.fail(path, "expected a finite number" if obj is not None else "missing", obj)
            return None
        if not lo <= obj <= hi:
            self.fail(path, f"out of range [{lo:g}, {hi:g}]", obj)
            return None
        return float(obj)

    def integer(self, obj: Any, path: str, minimum: int, required: bool = True) -> int | None:
        if obj is None and not required:
            return None
        if isinstance(obj, bool) or not isinstance(obj, int) or obj < minimum:
            self.fail(path, f"expected an integer >= {minimum}" if obj is not None else "missing", obj)
            return None
        return obj

    def list_of_objects(self, obj: Any, path: str, required: bool = True) -> list[dict]:
        if obj is None and not required:
            return []
        if not isinstance(obj, list):
            self.fail(path, "expected a JSON list" if obj is not None else "missing", obj)
            return []
        out = []
        for i, item in enumerate(obj):
            if isinstance(item, dict):
                out.append(item)
            else:
                self.fail(f"{path}[{i}]", "expected a JSON object", item)
        return out

    def scored(self, obj: dict, path: str) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
        """``scores`` (known keys checked against their ranges; other keys ignored) and optional ``ci``."""
        scores: dict[str, float] = {}
        raw = self.mapping(obj.get("scores"), f"{path}.scores")
        for key, (lo, hi) in SCORE_RANGES.items():
            if raw is not None and raw.get(key) is not None:
                value = self.number(raw[key], f"{path}.scores.{key}", lo, hi)
                if value is not None:
                    scores[key] = value
        ci: dict[str, tuple[float, float]] = {}
        raw_ci = self.mapping(obj.get("ci"), f"{path}.ci", required=False) or {}
        for key in SCORE_RANGES:
            pair = raw_ci.get(key)
            if pair is None:
                continue
            where = f"{path}.ci.{key}"
            if not isinstance(pair, list) or len(pair) != 2:
                self.fail(where, "expected [lo, hi]", pair)
                continue
            lo_v, hi_v = self.number(pair[0], f"{where}[0]"), self.number(pair[1], f"{where}[1]")
            if lo_v is None or hi_v is None:
                continue
            if lo_v > hi_v:
                self.fail(where, "lower bound above upper bound", pair)
                continue
            ci[key] = (lo_v, hi_v)
        return scores, ci


def load_results(path: str | Path) -> Results:
    """Load ``RUN_DIR/results.json`` (or a path to the file itself) and validate it against schema 1."""
    path = Path(path)
    if path.is_dir() or (not path.exists() and path.suffix != ".json"):
        path = path / "results.json"
    return parse_results(read_json(path, missing="results file not found; run the experiment first"), path)


def parse_results(doc: Any, file: Path) -> Results:
    """Validate a parsed ``results.json`` document; raises one ``DataError`` naming every bad field."""
    check = _Checker(file)
    if not isinstance(doc, dict):
        raise DataError("expected a JSON object at the top level", file=file, value=type(doc).__name__)
    check_schema(doc, SCHEMA_VERSION, file, "results file")
    name = check.text(doc.get("name"), "name")
    references = check.mapping(doc.get("reference"), "reference")
    refs = {}
    for role in ("target", "retrain") if references is not None else ():
        if references.get(role) is None:  # results.json is rewritten as stages finish: maybe not yet
            check.fail(f"reference.{role}", f"missing (has the run evaluated the {role} model yet?)")
            continue
        raw = check.mapping(references[role], f"reference.{role}")
        if raw is not None:
            refs[role] = Scored(*check.scored(raw, f"reference.{role}"))
    retrain_auc = doc.get("retrain_auc")
    if retrain_auc is not None:
        retrain_auc = check.number(retrain_auc, "retrain_auc", 0.0, 1.0)
    methods_raw = check.mapping(doc.get("methods"), "methods") or {}
    methods = {}
    for method_name, raw in methods_raw.items():
        method = _parse_method(check, method_name, raw)
        if method is not None:
            methods[method_name] = method
    corpus = check.mapping(doc.get("corpus"), "corpus", required=False) or {}
    provenance = check.mapping(doc.get("provenance"), "provenance", required=False) or {}
    timing = _timing(check, doc.get("timing_s"), "timing_s")
    from musebench.report.robustness import check_robustness

    robustness = check_robustness(check, doc.get("robustness"), list(methods))
    check.raise_if_any()
    return Results(name=name, target=refs["target"], retrain=refs["retrain"], methods=methods,
                   retrain_auc=retrain_auc, corpus=corpus, provenance=provenance, timing_s=timing, source=file,
                   robustness=robustness)


def _timing(check: _Checker, obj: Any, path: str) -> dict[str, float]:
    raw = check.mapping(obj, path, required=False) or {}
    out = {}
    for key, value in raw.items():
        number = check.number(value, f"{path}.{key}", 0.0)
        if number is not None:
            out[key] = number
    return out


def _parse_method(check: _Checker, name: str, obj: Any) -> MethodResult | None:
    path = f"methods.{name}"
    raw = check.mapping(obj, path)
    if raw is None:
        return None
    checkpoints = []
    seen: set[str] = set()
    raw_checkpoints = check.list_of_objects(raw.get("checkpoints"), f"{path}.checkpoints")
    if not raw_checkpoints and isinstance(raw.get("checkpoints"), list):
        check.fail(f"{path}.checkpoints", "a method needs at least one evaluated checkpoint", [])
    for i, item in enumerate(raw_checkpoints):
        where = f"{path}.checkpoints[{i}]"
        label = check.text(item.get("label"), f"{where}.label")
        if label is not None and label in seen:
            check.fail(f"{where}.label", "duplicate checkpoint label", label)
        seen.add(label or "")
        checkpoints.append(Checkpoint(*check.scored(item, where), label=label or ""))
    selected = check.text(raw.get("selected"), f"{path}.selected")
    if selected is not None and raw_checkpoints and selected not in seen:
        check.fail(f"{path}.selected", f"names no checkpoint (have {', '.join(sorted(seen))})", selected)
    folds = []
    for i, item in enumerate(check.list_of_objects(raw.get("scalability"), f"{path}.scalability", False)):
        where = f"{path}.scalability[{i}]"
        folds.append(ScalabilityFold(
            *check.scored(item, where),
            fold=check.integer(item.get("fold"), f"{where}.fold", 1) or 0,
            forget_docs=check.integer(item.get("forget_docs"), f"{where}.forget_docs", 0, required=False),
            forget_tokens=check.integer(item.get("forget_tokens"), f"{where}.forget_tokens", 0, required=False),
            selected=check.text(item.get("selected"), f"{where}.selected", required=False)))
    requests = []
    for i, item in enumerate(check.list_of_objects(raw.get("sustainability"), f"{path}.sustainability", False)):
        where = f"{path}.sustainability[{i}]"
        requests.append(SustainabilityRequest(
            *check.scored(item, where),
            request=check.integer(item.get("request"), f"{where}.request", 1) or 0,
            selected=check.text(item.get("selected"), f"{where}.selected", required=False)))
    _unique(check, [f.fold for f in folds], f"{path}.scalability", "fold")
    _unique(check, [r.request for r in requests], f"{path}.sustainability", "request")
    return MethodResult(
        name=name,
        checkpoints=tuple(checkpoints),
        selected=selected or "",
        selection_reason=check.text(raw.get("selection_reason"), f"{path}.selection_reason", required=False),
        scalability=tuple(sorted(folds, key=lambda f: f.fold)),
        sustainability=tuple(sorted(requests, key=lambda r: r.request)),
        config=check.mapping(raw.get("config"), f"{path}.config", required=False) or {},
        timing_s=_timing(check, raw.get("timing_s"), f"{path}.timing_s"),
    )


def _unique(check: _Checker, numbers: list[int], path: str, key: str) -> None:
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1 and n})
    if duplicates:
        check.fail(path, f"duplicate {key} numbers", duplicates)
