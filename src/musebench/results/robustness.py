"""C7's block of ``results.json`` (``robustness``): every attack on every model, typed, and its checks.

Written by the experiment from ``musebench.robustness.summary`` (plus its settings and notes), read by the
report's C7 table, chart and verdict. An attack entry holds the attacked ``scores`` / ``ci``, the unattacked
``baseline`` on the same probe and, for methods, the ``recovery`` per criterion and the ``measure`` C7 judges
(relearning: the ``excess`` over the retrain control's ``control_recovery``); controls carry the ``shift``.
An attack that could not run on a model holds only why (``skipped``). Read by the schema walker like the
rest of the file; ``read_check`` holds the block's own rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from musebench.results.checks import Problem, as_written, check_texts, check_timing
from musebench.results.interval import Interval

#: Per-criterion ratio blocks of an attack entry, in the order the file lists them.
RATIO_FIELDS = ("shift", "recovery", "control_recovery", "control_gain", "excess", "measure", "kept")
#: A ``judged`` entry's status when its ratio has a CI (``musebench.robustness.recovery``).
JUDGED = "judged"


@dataclass(frozen=True)
class AttackResult:
    scores: Mapping[str, float] = field(default_factory=dict)
    ci: Mapping[str, Interval] | None = None
    baseline: Mapping[str, float | None] | None = None
    shift: Mapping[str, float | None] | None = None
    recovery: Mapping[str, float | None] | None = None
    control_recovery: Mapping[str, float | None] | None = None
    excess: Mapping[str, float | None] | None = None
    measure: Mapping[str, float | None] | None = None
    kept: Mapping[str, float | None] | None = None
    control_gain: Mapping[str, float | None] | None = None
    # criterion -> {"status", "value", "ci", "gap", "noise", "n", "control"}: what C7 judges, with its CI
    judged: Mapping[str, Mapping[str, Any]] | None = None
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.skipped is not None:
            return {"skipped": self.skipped}
        out: dict[str, Any] = {"scores": dict(self.scores)}
        if self.ci is not None:
            out["ci"] = {k: [lo, hi] for k, (lo, hi) in self.ci.items()}
        for name in ("baseline", *RATIO_FIELDS):
            value = getattr(self, name)
            if value is not None:
                out[name] = dict(value)
        if self.judged is not None:
            out["judged"] = {k: dict(v) for k, v in self.judged.items()}
        return out

    def read_check(self, problem: Problem):
        for key, (lo, hi) in (self.ci or {}).items():
            if lo > hi:
                problem(f"ci.{key}", "lower bound above upper bound", [as_written(lo), as_written(hi)])
        for key, j in (self.judged or {}).items():
            if not isinstance(j.get("status"), str):
                problem(f"judged.{key}", "expected an object with a status", dict(j))
            elif j.get("ci") is not None and not (
                isinstance(j["ci"], list) and len(j["ci"]) == 2 and all(_finite(x) for x in j["ci"])
            ):
                problem(f"judged.{key}.ci", "expected [lo, hi] of finite numbers", j["ci"])
        return self

    def judgement(self, keys=("knowmem_f", "verbmem_f")) -> tuple[str, Mapping[str, Any]] | None:
        """The criterion C7 judges on this attack (KnowMem-f, else VerbMem-f) and its judgement."""
        for key in keys:
            if self.judged and key in self.judged:
                return key, self.judged[key]
        return None


@dataclass(frozen=True)
class RobustMethod:
    """A method's selected checkpoint under every attack."""

    checkpoint: str | None = None
    kept_full_precision: Mapping[str, float | None] | None = None
    attacks: Mapping[str, AttackResult] = field(default_factory=dict)

    def measures(self, key: str = "knowmem_f") -> dict[str, float | None]:
        """attack -> the number C7 judges (None: undefined, e.g. nothing was forgotten); skipped left out."""
        return {
            a: e.measure[key]
            for a, e in self.attacks.items()
            if e.skipped is None and e.measure is not None and key in e.measure
        }

    def read_check(self, problem: Problem):
        check_texts(self, problem, "checkpoint")
        return self

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"checkpoint": self.checkpoint}
        if self.kept_full_precision is not None:
            out["kept_full_precision"] = dict(self.kept_full_precision)
        out["attacks"] = {a: e.to_dict() for a, e in self.attacks.items()}
        return out


@dataclass(frozen=True)
class Robustness:
    """C7 of a run: the controls (target, retrain), the methods, what was attacked how, and notes."""

    controls: Mapping[str, Mapping[str, AttackResult]] = field(default_factory=dict)
    methods: Mapping[str, RobustMethod] = field(default_factory=dict)
    settings: Mapping[str, Any] | None = None  # schemes, relearning budget and split
    notes: tuple[str, ...] | None = None
    timing_s: Mapping[str, float] | None = None
    titles: Mapping[str, str] | None = None  # attack stage -> its name on the report (the Attack's title)

    def read_check(self, problem: Problem):
        check_timing(self.timing_s, "timing_s", problem)
        return self

    def title(self, stage: str) -> str:
        """``quantize-nf4`` -> ``NF4 (4-bit)``, as the run's attack registry named it (else the stage)."""
        return (self.titles or {}).get(stage, stage)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "controls": {m: {a: e.to_dict() for a, e in attacks.items()} for m, attacks in self.controls.items()},
            "methods": {m: r.to_dict() for m, r in self.methods.items()},
        }
        for name, value in (
            ("settings", self.settings),
            ("notes", self.notes),
            ("timing_s", self.timing_s),
            ("titles", self.titles),
        ):
            if value is not None:
                out[name] = list(value) if name == "notes" else dict(value)
        return out


def _finite(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)
