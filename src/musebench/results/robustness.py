"""C7's block of ``results.json`` (``robustness``): every attack on every model, typed, and its checks.

Written by the experiment from ``musebench.robustness.summary`` (plus its settings and notes), read by the
report's C7 table, chart and verdict. An attack entry holds the attacked ``scores`` / ``ci``, the unattacked
``baseline`` on the same probe and, for methods, the ``recovery`` per criterion and the ``measure`` C7 judges
(relearning: the ``excess`` over the retrain control's ``control_recovery``); controls carry the ``shift``.
An attack that could not run on a model holds only why (``skipped``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


def _attack(check, value: Any, where: str) -> AttackResult | None:
    if not isinstance(value, dict):
        check.fail(where, "expected a JSON object", value)
        return None
    if "skipped" in value:
        return AttackResult(skipped=str(value["skipped"]))
    scores = {}
    for key, number in (check.mapping(value.get("scores"), f"{where}.scores") or {}).items():
        if _finite(number):
            scores[key] = float(number)
        else:
            check.fail(f"{where}.scores.{key}", "expected a finite number", number)
    ci = None
    if value.get("ci") is not None:
        ci = {}
        for key, pair in (check.mapping(value["ci"], f"{where}.ci") or {}).items():
            if isinstance(pair, list) and len(pair) == 2 and all(_finite(x) for x in pair) and pair[0] <= pair[1]:
                ci[key] = (float(pair[0]), float(pair[1]))
            else:
                check.fail(f"{where}.ci.{key}", "expected [lo, hi] of finite numbers", pair)
    blocks = {}
    for part in ("baseline", *RATIO_FIELDS):
        raw = check.mapping(value.get(part), f"{where}.{part}", required=False)
        if raw is None:
            continue
        for key, number in raw.items():
            if number is not None and not _finite(number):
                check.fail(f"{where}.{part}.{key}", "expected a finite number or null", number)
        blocks[part] = dict(raw)
    judged = check.mapping(value.get("judged"), f"{where}.judged", required=False)
    if judged is not None:
        for key, j in judged.items():
            if not isinstance(j, dict) or not isinstance(j.get("status"), str):
                check.fail(f"{where}.judged.{key}", "expected an object with a status", j)
            elif j.get("ci") is not None and not (
                isinstance(j["ci"], list) and len(j["ci"]) == 2 and all(_finite(x) for x in j["ci"])
            ):
                check.fail(f"{where}.judged.{key}.ci", "expected [lo, hi] of finite numbers", j["ci"])
        judged = {k: dict(j) for k, j in judged.items() if isinstance(j, dict)}
    return AttackResult(scores=scores, ci=ci, judged=judged, **blocks)


def parse_robustness(check, raw: Any, methods: list[str]) -> Robustness | None:
    """C7's block, problems to ``check`` (named by path: ``robustness.methods.<m>.<attack>.scores.<key>``)."""
    if raw is None:
        return None
    doc = check.mapping(raw, "robustness")
    if doc is None:
        return None
    controls: dict[str, dict[str, AttackResult]] = {}
    for model, attacks in (check.mapping(doc.get("controls"), "robustness.controls") or {}).items():
        entries = check.mapping(attacks, f"robustness.controls.{model}") or {}
        parsed = {a: _attack(check, v, f"robustness.controls.{model}.{a}") for a, v in entries.items()}
        controls[model] = {a: e for a, e in parsed.items() if e is not None}
    robust: dict[str, RobustMethod] = {}
    for model, entry in (check.mapping(doc.get("methods"), "robustness.methods") or {}).items():
        if model not in methods:
            check.fail(f"robustness.methods.{model}", "not one of the run's methods", model)
        entry = check.mapping(entry, f"robustness.methods.{model}")
        if entry is None:
            continue
        attacks = check.mapping(entry.get("attacks"), f"robustness.methods.{model}") or {}
        parsed = {a: _attack(check, v, f"robustness.methods.{model}.{a}") for a, v in attacks.items()}
        robust[model] = RobustMethod(
            checkpoint=check.text(entry.get("checkpoint"), f"robustness.methods.{model}.checkpoint", required=False),
            kept_full_precision=check.mapping(
                entry.get("kept_full_precision"), f"robustness.methods.{model}.kept_full_precision", required=False
            ),
            attacks={a: e for a, e in parsed.items() if e is not None},
        )
    notes = doc.get("notes")
    if notes is not None and not isinstance(notes, list):
        check.fail("robustness.notes", "expected a JSON list", notes)
        notes = None
    timing = doc.get("timing_s")
    return Robustness(
        controls=controls,
        methods=robust,
        settings=check.mapping(doc.get("settings"), "robustness.settings", required=False),
        notes=None if notes is None else tuple(str(n) for n in notes),
        timing_s=None if timing is None else check.timing(timing, "robustness.timing_s"),
        titles=check.mapping(doc.get("titles"), "robustness.titles", required=False),
    )
