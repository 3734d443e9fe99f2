"""The records of an experiment's ``results.json``: what the experiment writes and every reader reads.

``experiment`` builds these as stages finish and saves ``Results.to_dict()``; ``report``, ``musebench run``'s
table and ``musebench compare`` read the file back through ``musebench.results.parse_results`` into the
same types (C7's block: ``musebench.results.robustness``). The records are the file's schema: the schema
walker reads each block along their fields, and each record's ``read_check`` holds the file's own rules
(score ranges from ``musebench.criteria``, unique labels, a selected checkpoint that exists), run on reading
only: the experiment trusts its own evaluation. Free-form blocks (the experiment's provenance, a method's
config, the corpus) stay mappings: they are shown, not computed with. Absent parts (C5 not run, a metric left
out of a checkpoint's evaluation) are empty or ``None``, never zeros.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from musebench.criteria import FOLLOW_UPS, SCORES
from musebench.results.checks import Problem, as_written, check_texts, check_timing
from musebench.results.interval import Interval, ci_dict
from musebench.results.robustness import Robustness

SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class Scored:
    """Scores of one evaluated model, with bootstrap 95 % intervals where the run computed them, and the
    membership-attack suite (``privacy``) when it was asked for."""

    scores: Mapping[str, float] = field(default_factory=dict)
    ci: Mapping[str, Interval] = field(default_factory=dict)
    privacy: Mapping[str, Any] | None = None

    def get(self, key: str) -> float | None:
        return self.scores.get(key)

    def read_check(self, problem: Problem):
        """Known scores within their criterion's range, intervals ordered; keys this version does not know
        are left out (a newer musebench's extra score is not an error)."""
        scores: dict[str, float] = {}
        for key, value in self.scores.items():
            score = SCORES.get(key)
            if score is not None and not score.low <= value <= score.high:
                problem(f"scores.{key}", f"out of range [{score.low:g}, {score.high:g}]", as_written(value))
            elif score is not None:
                scores[key] = value
        ci: dict[str, Interval] = {}
        for key, (lo, hi) in self.ci.items():
            if key in SCORES and lo > hi:
                problem(f"ci.{key}", "lower bound above upper bound", [as_written(lo), as_written(hi)])
            elif key in SCORES:
                ci[key] = (lo, hi)
        return dataclasses.replace(self, scores=scores, ci=ci)

    def scored_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scores": dict(self.scores), "ci": ci_dict(self.ci)}
        if self.privacy is not None:
            out["privacy"] = self.privacy
        return out

    @classmethod
    def from_evaluation(cls, evaluation: Mapping[str, Any], **fields: Any):
        """From what the backend's ``evaluate`` returns (``{"scores", "ci", ["privacy"]}``), not checked:
        the experiment trusts its own evaluation; readers check the file."""
        ci = {k: (float(v[0]), float(v[1])) for k, v in (evaluation.get("ci") or {}).items() if v is not None}
        return cls(scores=dict(evaluation.get("scores") or {}), ci=ci, privacy=evaluation.get("privacy"), **fields)


@dataclass(frozen=True)
class Reference(Scored):
    """The target or retrain model: where it was loaded from and its scores."""

    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**({"model": self.model} if self.model is not None else {}), **self.scored_dict()}

    def read_check(self, problem: Problem):
        check_texts(self, problem, "model")
        return super().read_check(problem)


@dataclass(frozen=True)
class Checkpoint(Scored):
    """One evaluated checkpoint of an unlearning request (``epoch-3``, ``alpha-4``)."""

    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, **self.scored_dict()}

    def read_check(self, problem: Problem):
        if not self.label:
            problem("label", "missing" if self.label is None else "expected a non-empty string", self.label)
        return super().read_check(problem)


def check_labels(checkpoints: Sequence[Checkpoint], where: str, problem: Problem) -> set[str]:
    """A list of checkpoints names each once; returns the labels."""
    seen: set[str] = set()
    for i, checkpoint in enumerate(checkpoints):
        if checkpoint.label in seen:
            problem(f"{where}[{i}].label", "duplicate checkpoint label", checkpoint.label)
        seen.add(checkpoint.label)
    return seen


@dataclass(frozen=True)
class FollowUp(Scored):
    """What a C5 fold and a C6 request share: the selected checkpoint's scores and how it was chosen.

    ``judged`` holds, under ``selection.follow_ups: own_fold``, each checkpoint's KnowMem on the fold's
    own questions (what chose it); the scores above stay those of the main corpus."""

    fold: int | None = None
    forget_docs: int | None = None
    selected: str | None = None
    selection_reason: str | None = None
    checkpoints: tuple[Checkpoint, ...] = ()
    checkpoints_trained: int | None = None
    timing_s: Mapping[str, float] = field(default_factory=dict)
    judged: tuple[Checkpoint, ...] = ()

    def read_check(self, problem: Problem):
        check_texts(self, problem, "selected", "selection_reason")
        check_labels(self.checkpoints, "checkpoints", problem)
        check_labels(self.judged, "judged", problem)
        for name, minimum in (("forget_docs", 0), ("checkpoints_trained", 1), *self._numbered):
            value = getattr(self, name)
            if value is not None and value < minimum:
                problem(name, f"expected an integer >= {minimum}", value)
        check_timing(self.timing_s, "timing_s", problem)
        return super().read_check(problem)

    _numbered: ClassVar[
        tuple[tuple[str, int], ...]
    ] = ()  # its own counted fields (the fold, the request), with minimums

    def _tail(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.selected is not None:
            out["selected"] = self.selected
        if self.selection_reason is not None:
            out["selection_reason"] = self.selection_reason
        out.update(self.scored_dict())
        if self.checkpoints:
            out["checkpoints"] = [c.to_dict() for c in self.checkpoints]
        if self.checkpoints_trained is not None:
            out["checkpoints_trained"] = self.checkpoints_trained
        if self.timing_s:
            out["timing_s"] = dict(self.timing_s)
        if self.judged:
            out["judged"] = [c.to_dict() for c in self.judged]
        return out


@dataclass(frozen=True)
class ScalabilityFold(FollowUp):
    """C5: the method unlearned ``scal/forget_<fold>`` (nested, growing with the fold) from the target."""

    forget_tokens: int | None = None
    _numbered = (("fold", 1), ("forget_tokens", 0))

    @property
    def number(self) -> int:
        return self.fold or 0

    def read_check(self, problem: Problem):
        if self.fold is None:
            problem("fold", "missing")
        return super().read_check(problem)

    def to_dict(self) -> dict[str, Any]:
        head = {"fold": self.fold, "forget_docs": self.forget_docs, "forget_tokens": self.forget_tokens}
        return {**{k: v for k, v in head.items() if v is not None}, **self._tail()}


@dataclass(frozen=True)
class SustainabilityRequest(FollowUp):
    """C6: the state after the ``request``-th disjoint fold was unlearned, each from the previous result
    (``started_from``: ``target`` or the previous request's selected checkpoint, relative to the run)."""

    request: int = 0
    started_from: str | None = None
    _numbered = (("request", 1), ("fold", 1))

    def read_check(self, problem: Problem):
        check_texts(self, problem, "started_from")
        return super().read_check(problem)

    @property
    def number(self) -> int:
        return self.request

    def to_dict(self) -> dict[str, Any]:
        head = {
            "request": self.request,
            "fold": self.fold,
            "forget_docs": self.forget_docs,
            "started_from": self.started_from,
        }
        return {**{k: v for k, v in head.items() if v is not None}, **self._tail()}


@dataclass(frozen=True)
class MethodResult:
    """One method of the experiment: its main request's checkpoints and choice, then its C5 / C6 rows.

    ``selected_scores`` / ``selected_ci`` in the file repeat the selected checkpoint's (for a reader of the
    raw JSON); they are written from it and not read back."""

    name: str
    checkpoints: tuple[Checkpoint, ...]
    selected: str
    selection_reason: str | None = None
    method: str | None = None  # the registry name (``npo``) of this entry (``npo_gdr``)
    config: Mapping[str, Any] = field(default_factory=dict)
    checkpoints_trained: int | None = None
    scalability: tuple[ScalabilityFold, ...] = ()
    sustainability: tuple[SustainabilityRequest, ...] = ()
    timing_s: Mapping[str, float] = field(default_factory=dict)

    @property
    def selected_checkpoint(self) -> Checkpoint:
        return next(c for c in self.checkpoints if c.label == self.selected)

    def follow_ups(self, key: str) -> tuple[FollowUp, ...]:
        return self.scalability if key == "scalability" else self.sustainability

    def read_check(self, problem: Problem):
        """Labels unique, the selected one among them, follow-up rows numbered once each (kept in order)."""
        check_texts(self, problem, "selected", "selection_reason", "method")
        if not self.checkpoints:
            problem("checkpoints", "a method needs at least one evaluated checkpoint", [])
        seen = check_labels(self.checkpoints, "checkpoints", problem)
        if self.checkpoints and self.selected and self.selected not in seen:
            problem("selected", f"names no checkpoint (have {', '.join(sorted(seen))})", self.selected)
        if self.checkpoints_trained is not None and self.checkpoints_trained < 1:
            problem("checkpoints_trained", "expected an integer >= 1", self.checkpoints_trained)
        check_timing(self.timing_s, "timing_s", problem)
        rows = {}
        for key, order in FOLLOW_UPS.items():
            numbers = [r.number for r in self.follow_ups(key)]
            duplicates = sorted({n for n in numbers if numbers.count(n) > 1 and n})
            if duplicates:
                problem(key, f"duplicate {order} numbers", duplicates)
            rows[key] = tuple(sorted(self.follow_ups(key), key=lambda r: r.number))
        return dataclasses.replace(self, **rows)

    def to_dict(self) -> dict[str, Any]:
        chosen = self.selected_checkpoint
        out: dict[str, Any] = {}
        if self.method is not None:
            out["method"] = self.method
        out["config"] = dict(self.config)
        out["checkpoints"] = [c.to_dict() for c in self.checkpoints]
        if self.checkpoints_trained is not None:
            out["checkpoints_trained"] = self.checkpoints_trained
        out.update(
            {
                "selected": self.selected,
                "selection_reason": self.selection_reason,
                "selected_scores": dict(chosen.scores),
                "selected_ci": ci_dict(chosen.ci),
                "timing_s": dict(self.timing_s),
            }
        )
        if self.scalability:
            out["scalability"] = [f.to_dict() for f in self.scalability]
        if self.sustainability:
            out["sustainability"] = [r.to_dict() for r in self.sustainability]
        return out


@dataclass(frozen=True)
class FailedLine:
    """A line of stages that failed after its retries (the run finished the others and exits 1)."""

    line: str
    error: str  # may be empty: an exception raised without a message
    stage: str | None = None
    log: str | None = None
    attempts: int = 1

    def read_check(self, problem: Problem):
        check_texts(self, problem, "line", "stage", "log")
        if self.attempts < 1:
            problem("attempts", "expected an integer >= 1", self.attempts)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "stage": self.stage, "error": self.error, "log": self.log, "attempts": self.attempts}


@dataclass(frozen=True)
class Results:
    """One experiment run. While it runs, parts are missing (no references yet, methods still training);
    the report needs both references (``parse_results(..., complete=True)``)."""

    name: str
    target: Reference | None = None
    retrain: Reference | None = None
    methods: Mapping[str, MethodResult] = field(default_factory=dict)
    retrain_auc: float | None = None
    retrain_auc_source: str | None = None
    corpus: Mapping[str, Any] = field(default_factory=dict)  # name, fingerprint, source
    provenance: Mapping[str, Any] = field(default_factory=dict)  # versions, seed, eval settings, experiment
    timing_s: Mapping[str, float] = field(default_factory=dict)
    robustness: Robustness | None = None  # C7, when the run attacked its models
    executor: str | None = None
    failed: tuple[FailedLine, ...] = ()
    report: str | None = None  # the report directory, relative to the run
    source: Path | None = None  # the file it was read from (not written)

    def reference(self, role: str) -> Reference | None:
        return self.target if role == "target" else self.retrain

    def read_check(self, problem: Problem):
        check_texts(self, problem, "name", "retrain_auc_source", "executor", "report")
        if self.retrain_auc is not None and not 0.0 <= self.retrain_auc <= 1.0:
            problem("retrain_auc", "out of range [0, 1]", as_written(self.retrain_auc))
        check_timing(self.timing_s, "timing_s", problem)
        return self

    def to_dict(self) -> dict[str, Any]:
        refs = {
            role: ref.to_dict() for role, ref in (("retrain", self.retrain), ("target", self.target)) if ref is not None
        }
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "corpus": dict(self.corpus),
            "provenance": dict(self.provenance),
            "retrain_auc": self.retrain_auc,
        }
        if self.retrain_auc_source is not None:
            out["retrain_auc_source"] = self.retrain_auc_source
        out.update(
            {
                "reference": refs,
                "methods": {n: m.to_dict() for n, m in self.methods.items()},
                "timing_s": dict(self.timing_s),
            }
        )
        if self.executor is not None:
            out["executor"] = self.executor
        if self.failed:
            out["failed"] = [f.to_dict() for f in self.failed]
        if self.robustness is not None:
            out["robustness"] = self.robustness.to_dict()
        if self.report is not None:
            out["report"] = self.report
        return out
