"""Read ``results.json`` back into ``musebench.results.records``, checking every field on the way.

Nothing downstream recomputes a score, so the file is checked before anything is drawn: every problem is
named by its JSON path (``methods.npo_gdr.checkpoints[2].scores.knowmem_f``) and value, all of them in one
error, one per line, in the format of every musebench file (``musebench.schema``). Score keys and ranges come from ``musebench.criteria``; keys this version does not know
are left out (a newer musebench's extra score is not an error).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from musebench.criteria import FOLLOW_UPS, SCORES
from musebench.errors import DataError, check_schema
from musebench.io import read_json
from musebench.results.records import (
    RESULTS_FILE,
    SCHEMA_VERSION,
    Checkpoint,
    FailedLine,
    MethodResult,
    Reference,
    Results,
    ScalabilityFold,
    SustainabilityRequest,
)
from musebench.results.robustness import parse_robustness
from musebench.schema import Problems, check_value

MISSING_FILE = "results file not found (is this a `musebench run` output directory? run the experiment first)"


class Checker(Problems):
    """Every problem of a results document, in ``musebench.schema``'s one format; leaves are checked by the
    schema walker's rule for their type, then against this file's ranges."""

    def __init__(self, file: Path | str):
        super().__init__(str(file), DataError)

    def fail(self, path: str, message: str, value: object = None) -> None:
        self.add(path, message, *(() if value is None else (value,)))

    def _typed(self, tp: Any, obj: Any, path: str, required: bool) -> Any:
        if obj is None and not required:
            return None
        return check_value(tp, obj, path, self)

    def mapping(self, obj: Any, path: str, required: bool = True) -> dict | None:
        return self._typed(dict, obj, path, required)

    def text(self, obj: Any, path: str, required: bool = True) -> str | None:
        value = self._typed(str, obj, path, required)
        if value == "":
            self.fail(path, "expected a non-empty string", value)
        return value or None

    def number(self, obj: Any, path: str, lo: float = -math.inf, hi: float = math.inf) -> float | None:
        value = check_value(float, obj, path, self)
        if value is not None and not lo <= value <= hi:
            self.fail(path, f"out of range [{lo:g}, {hi:g}]", obj)
            return None
        return value

    def integer(self, obj: Any, path: str, minimum: int, required: bool = True) -> int | None:
        value = self._typed(int, obj, path, required)
        if value is not None and value < minimum:
            self.fail(path, f"expected an integer >= {minimum}", value)
            return None
        return value

    def list_of_objects(self, obj: Any, path: str, required: bool = True) -> list[dict]:
        items = self._typed(list, obj, path, required) or []
        return [item for i, item in enumerate(items) if check_value(dict, item, f"{path}[{i}]", self) is not None]

    def scored(self, obj: dict, path: str) -> dict[str, Any]:
        """``scores`` (known keys checked against their ranges), optional ``ci`` and ``privacy``."""
        scores: dict[str, float] = {}
        raw = self.mapping(obj.get("scores"), f"{path}.scores")
        for key, score in SCORES.items():
            if raw is not None and raw.get(key) is not None:
                value = self.number(raw[key], f"{path}.scores.{key}", score.low, score.high)
                if value is not None:
                    scores[key] = value
        ci: dict[str, tuple[float, float]] = {}
        raw_ci = self.mapping(obj.get("ci"), f"{path}.ci", required=False) or {}
        for key in SCORES:
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
        privacy = self.mapping(obj.get("privacy"), f"{path}.privacy", required=False)
        return {"scores": scores, "ci": ci, "privacy": privacy}

    def timing(self, obj: Any, path: str) -> dict[str, float]:
        raw = self.mapping(obj, path, required=False) or {}
        out = {}
        for key, value in raw.items():
            number = self.number(value, f"{path}.{key}", 0.0)
            if number is not None:
                out[key] = number
        return out


def load_results(path: str | Path, complete: bool = True) -> Results:
    """Read ``RUN_DIR/results.json`` (or the file itself); ``complete``: both references must be there (the
    report's need; ``compare`` and the run's own table take a run that is still going)."""
    path = Path(path)
    if path.is_dir() or (not path.exists() and path.suffix != ".json"):
        path = path / RESULTS_FILE
    return parse_results(read_json(path, missing=MISSING_FILE), path, complete=complete)


def parse_results(doc: Any, file: Path | str, complete: bool = True) -> Results:
    """Check a parsed ``results.json`` document into ``Results``; one ``DataError`` names every bad field."""
    if not isinstance(doc, dict):
        raise DataError("expected a JSON object at the top level", file=file, value=type(doc).__name__)
    check_schema(doc, SCHEMA_VERSION, file, "results file")
    check = Checker(file)
    name = check.text(doc.get("name"), "name")
    references = check.mapping(doc.get("reference"), "reference")
    refs: dict[str, Reference] = {}
    for role in ("target", "retrain") if references is not None else ():
        if references.get(role) is None:  # results.json is rewritten as stages finish: maybe not yet
            if complete:
                check.fail(f"reference.{role}", f"missing (has the run evaluated the {role} model yet?)")
            continue
        raw = check.mapping(references[role], f"reference.{role}")
        if raw is not None:
            refs[role] = Reference(
                **check.scored(raw, f"reference.{role}"),
                model=check.text(raw.get("model"), f"reference.{role}.model", required=False),
            )
    retrain_auc = doc.get("retrain_auc")
    if retrain_auc is not None:
        retrain_auc = check.number(retrain_auc, "retrain_auc", 0.0, 1.0)
    methods = {}
    for method_name, raw in (check.mapping(doc.get("methods"), "methods") or {}).items():
        method = _method(check, method_name, raw)
        if method is not None:
            methods[method_name] = method
    robustness = parse_robustness(check, doc.get("robustness"), list(methods))
    results = Results(
        name=name or "",
        target=refs.get("target"),
        retrain=refs.get("retrain"),
        methods=methods,
        retrain_auc=retrain_auc,
        retrain_auc_source=check.text(doc.get("retrain_auc_source"), "retrain_auc_source", required=False),
        corpus=check.mapping(doc.get("corpus"), "corpus", required=False) or {},
        provenance=check.mapping(doc.get("provenance"), "provenance", required=False) or {},
        timing_s=check.timing(doc.get("timing_s"), "timing_s"),
        robustness=robustness,
        executor=check.text(doc.get("executor"), "executor", required=False),
        failed=_failed(check, doc.get("failed")),
        report=check.text(doc.get("report"), "report", required=False),
        source=Path(file),
    )
    check.raise_if_any()
    return results


def _checkpoints(check: Checker, obj: Any, path: str, required: bool) -> tuple[list[Checkpoint], set[str]]:
    out, seen = [], set()
    for i, item in enumerate(check.list_of_objects(obj, path, required)):
        where = f"{path}[{i}]"
        label = check.text(item.get("label"), f"{where}.label")
        if label is not None and label in seen:
            check.fail(f"{where}.label", "duplicate checkpoint label", label)
        seen.add(label or "")
        out.append(Checkpoint(**check.scored(item, where), label=label or ""))
    return out, seen


def _method(check: Checker, name: str, obj: Any) -> MethodResult | None:
    path = f"methods.{name}"
    raw = check.mapping(obj, path)
    if raw is None:
        return None
    checkpoints, seen = _checkpoints(check, raw.get("checkpoints"), f"{path}.checkpoints", True)
    if not checkpoints and isinstance(raw.get("checkpoints"), list) and not raw["checkpoints"]:
        check.fail(f"{path}.checkpoints", "a method needs at least one evaluated checkpoint", [])
    selected = check.text(raw.get("selected"), f"{path}.selected")
    if selected is not None and checkpoints and selected not in seen:
        check.fail(f"{path}.selected", f"names no checkpoint (have {', '.join(sorted(seen))})", selected)
    follow: dict[str, list] = {}
    for key, order in FOLLOW_UPS.items():
        rows = [
            _follow_up(check, key, item, f"{path}.{key}[{i}]")
            for i, item in enumerate(check.list_of_objects(raw.get(key), f"{path}.{key}", False))
        ]
        numbers = [r.number for r in rows]
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1 and n})
        if duplicates:
            check.fail(f"{path}.{key}", f"duplicate {order} numbers", duplicates)
        follow[key] = sorted(rows, key=lambda r: r.number)
    return MethodResult(
        name=name,
        checkpoints=tuple(checkpoints),
        selected=selected or "",
        selection_reason=check.text(raw.get("selection_reason"), f"{path}.selection_reason", required=False),
        method=check.text(raw.get("method"), f"{path}.method", required=False),
        config=check.mapping(raw.get("config"), f"{path}.config", required=False) or {},
        checkpoints_trained=check.integer(
            raw.get("checkpoints_trained"), f"{path}.checkpoints_trained", 1, required=False
        ),
        scalability=tuple(follow["scalability"]),
        sustainability=tuple(follow["sustainability"]),
        timing_s=check.timing(raw.get("timing_s"), f"{path}.timing_s"),
    )


def _follow_up(check: Checker, key: str, item: dict, where: str):
    checkpoints, _ = _checkpoints(check, item.get("checkpoints"), f"{where}.checkpoints", False)
    judged, _ = _checkpoints(check, item.get("judged"), f"{where}.judged", False)
    common = dict(
        **check.scored(item, where),
        forget_docs=check.integer(item.get("forget_docs"), f"{where}.forget_docs", 0, required=False),
        selected=check.text(item.get("selected"), f"{where}.selected", required=False),
        selection_reason=check.text(item.get("selection_reason"), f"{where}.selection_reason", required=False),
        checkpoints=tuple(checkpoints),
        judged=tuple(judged),
        checkpoints_trained=check.integer(
            item.get("checkpoints_trained"), f"{where}.checkpoints_trained", 1, required=False
        ),
        timing_s=check.timing(item.get("timing_s"), f"{where}.timing_s"),
    )
    if key == "scalability":
        return ScalabilityFold(
            fold=check.integer(item.get("fold"), f"{where}.fold", 1) or 0,
            forget_tokens=check.integer(item.get("forget_tokens"), f"{where}.forget_tokens", 0, required=False),
            **common,
        )
    return SustainabilityRequest(
        request=check.integer(item.get("request"), f"{where}.request", 1) or 0,
        fold=check.integer(item.get("fold"), f"{where}.fold", 1, required=False),
        started_from=check.text(item.get("started_from"), f"{where}.started_from", required=False),
        **common,
    )


def _any_text(check: Checker, obj: Any, path: str) -> str:
    if not isinstance(obj, str):
        check.fail(path, "expected a string" if obj is not None else "missing", obj)
        return ""
    return obj


def _failed(check: Checker, obj: Any) -> tuple[FailedLine, ...]:
    out = []
    for i, item in enumerate(check.list_of_objects(obj, "failed", required=False)):
        where = f"failed[{i}]"
        out.append(
            FailedLine(
                line=check.text(item.get("line"), f"{where}.line") or "",
                stage=check.text(item.get("stage"), f"{where}.stage", required=False),
                error=_any_text(check, item.get("error"), f"{where}.error"),  # an exception may say nothing
                log=check.text(item.get("log"), f"{where}.log", required=False),
                attempts=check.integer(item.get("attempts"), f"{where}.attempts", 1, required=False) or 1,
            )
        )
    return tuple(out)
