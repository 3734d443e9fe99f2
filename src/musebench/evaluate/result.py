"""The typed result of one evaluation, its files (summary.json, per_example.jsonl) and its terminal table."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from musebench.criteria import CRITERIA, Score
from musebench.errors import check_schema
from musebench.io import atomic_write_json, atomic_write_jsonl

SCHEMA_VERSION = 1
HEADLINE = ("verbmem_f", "knowmem_f", "auc", "privleak", "knowmem_r")
#: Row names of the terminal table: the criterion code and what measures it (``musebench.criteria``).
LABELS = {
    **{c.key: f"{c.code} {c.measured_by}" for c in CRITERIA.values() if c.key in HEADLINE},
    "auc": "   Min-K% AUC (f vs h)",
    "privleak": "C3 PrivLeak (%)",
}


@dataclass
class EvalResult:
    """``scores`` use the agreed keys (verbmem_f, knowmem_f, knowmem_r in 0-100; auc in 0-1; privleak in %).

    A criterion that could not be computed is absent; PrivLeak without a retrain AUC is ``None`` and
    ``notes`` says why. ``ci`` holds bootstrap 95% intervals ``[lo, hi]`` of the same keys.
    """

    scores: dict[str, float | None]
    ci: dict[str, list[float] | None] = field(default_factory=dict)
    privacy: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    per_example: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        metrics = {}
        for key in self.scores:
            if (found := score_of(key)) is not None:
                score, version = found
                metrics[key] = {
                    "name": score.description,
                    "version": version,
                    "higher_is_better": score.higher_is_better,
                    "unit": score.unit,
                }
        return {
            "schema_version": SCHEMA_VERSION,
            "scores": self.scores,
            "ci": self.ci,
            "privacy": self.privacy,
            "notes": self.notes,
            "provenance": self.provenance,
            "metrics": metrics,
        }

    def save(self, out_dir: str | Path) -> Path:
        """Write ``summary.json`` and ``per_example.jsonl`` atomically into ``out_dir``."""
        out = Path(out_dir)
        atomic_write_jsonl(out / "per_example.jsonl", (_json_safe(r) for r in self.per_example))
        atomic_write_json(out / "summary.json", _json_safe(self.to_dict()))
        return out

    @classmethod
    def load(cls, out_dir: str | Path) -> EvalResult:
        out = Path(out_dir)
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        check_schema(summary, SCHEMA_VERSION, out / "summary.json", "evaluation summary")
        rows = []
        if (out / "per_example.jsonl").exists():
            rows = [
                json.loads(line)
                for line in (out / "per_example.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
        return cls(
            scores=summary["scores"],
            ci=summary.get("ci", {}),
            privacy=summary.get("privacy", {}),
            notes=summary.get("notes", []),
            provenance=summary.get("provenance", {}),
            per_example=rows,
        )


def score_of(key: str) -> tuple[Score, int] | None:
    """A reported score's metadata and the version of the task that computes it (``registry.TASKS``)."""
    from musebench.evaluate.registry import TASKS

    return next(((s, t.version) for t in TASKS.values() for s in t.scores if s.key == key), None)


def _json_safe(obj):
    """NaN/inf are not JSON: they become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def render_table(result: EvalResult, title: str = "MUSE evaluation"):
    """A short rich table: criterion, value, 95% CI, which direction is better."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("criterion", "value", "95% CI", "better"):
        table.add_column(col, justify="right" if col != "criterion" else "left")
    for key in [*HEADLINE, *(k for k in result.scores if k not in HEADLINE)]:
        found = score_of(key)
        if key not in result.scores or found is None:
            continue
        value = result.scores[key]
        ci = result.ci.get(key)
        digits = 4 if key == "auc" else 1
        shown = "unavailable" if value is None else f"{value:.{digits}f}"
        shown_ci = f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else "-"
        better = {True: "higher", False: "lower"}.get(
            found[0].higher_is_better, "near 0" if found[0].better == "zero" else "near retrain"
        )
        table.add_row(LABELS.get(key, found[0].title), shown, shown_ci, better)
    return table
