"""Machine-readable copies of the report's tables: ``results.csv`` (Table 3 + verdicts) and ``results.json``.

Both are pure functions of the saved results and the rules, so the same input gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from musebench.report.plots import Plot
from musebench.report.tables import COLUMNS, Tables
from musebench.report.verdicts import CRITERIA
from musebench.results import MethodResult, Scored

REPORT_SCHEMA_VERSION = 1
CSV_SCORE_KEYS = tuple(COLUMNS) + ("auc",)


def _number(value: float | None) -> str:
    """Four decimals: enough for ROUGE x 100 and AUC, stable across platforms; empty when not run."""
    return "" if value is None else f"{value:.4f}"


def table_csv(tables: Tables) -> str:
    """One line per Table 3 row: each score with its CI bounds, then the six verdicts (methods only)."""
    header = ["model", "kind", "checkpoint"]
    for key in CSV_SCORE_KEYS:
        header += [key, f"{key}_ci_lo", f"{key}_ci_hi"]
    header += list(CRITERIA)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in tables.rows:
        line = [row.model, row.kind, row.checkpoint or ""]
        for key in CSV_SCORE_KEYS:
            lo, hi = row.scored.ci.get(key, (None, None))
            line += [_number(row.scored.get(key)), _number(lo), _number(hi)]
        line += [row.verdicts[c].status if row.verdicts else "" for c in CRITERIA]
        writer.writerow(line)
    return buffer.getvalue()


def _scored_dict(scored: Scored) -> dict[str, Any]:
    return {"scores": dict(scored.scores), "ci": {k: list(v) for k, v in scored.ci.items()}}


def _method_dict(method: MethodResult) -> dict[str, Any]:
    return {
        "selected": method.selected,
        "selection_reason": method.selection_reason,
        "checkpoints": [{"label": c.label, **_scored_dict(c)} for c in method.checkpoints],
        "scalability": [
            {
                "fold": f.fold,
                "forget_docs": f.forget_docs,
                "forget_tokens": f.forget_tokens,
                "selected": f.selected,
                **_scored_dict(f),
            }
            for f in method.scalability
        ]
        or None,
        "sustainability": [
            {"request": r.request, "selected": r.selected, **_scored_dict(r)} for r in method.sustainability
        ]
        or None,
    }


def table_json(tables: Tables, plots: Sequence[Plot]) -> dict[str, Any]:
    """The data behind every table and figure of the page (``null`` = not run)."""
    results = tables.results
    return {
        "report_schema_version": REPORT_SCHEMA_VERSION,
        "run": results.name,
        "corpus": dict(results.corpus),
        "rules": {
            **tables.rules.to_dict(),
            "criteria": {c: {"name": CRITERIA[c], "rule": text} for c, text in tables.rules.describe().items()},
        },
        "columns": dict(COLUMNS),
        "table": [
            {"model": r.model, "kind": r.kind, "checkpoint": r.checkpoint, **_scored_dict(r.scored)}
            for r in tables.rows
        ],
        "verdicts": {
            name: {c: {"status": v.status, "reason": v.reason} for c, v in verdicts.items()}
            for name, verdicts in tables.verdicts.items()
        },
        "methods": {name: _method_dict(m) for name, m in results.methods.items()},
        "plots": [{"key": p.key, "file": p.filename, "title": p.title} for p in plots],
        "robustness": results.robustness.to_dict() if results.robustness is not None else None,
    }
