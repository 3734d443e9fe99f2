"""The rows of the report's tables, independent of how they are rendered (Markdown, HTML, CSV, JSON).

Table 3 of the paper lists, per model, VerbMem on the forget set, KnowMem on the forget set, PrivLeak and
KnowMem on the retain set (utility), with the target and retrain models as the first two rows. Each method
contributes its selected checkpoint. Cells carry the bootstrap confidence interval when the run has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from musebench.criteria import SCORES, TABLE3
from musebench.report.verdicts import CRITERIA, Verdict, VerdictRules, judge_all
from musebench.results import MethodResult, Results, Scored

#: Table 3 columns: score key -> header.
COLUMNS: dict[str, str] = {key: SCORES[key].header for key in TABLE3}

#: The columns of the C5 / C6 tables and curves (Table 3's four).
CURVE_METRICS = tuple(COLUMNS)

MISSING = "not run"


@dataclass(frozen=True)
class Row:
    """One line of the results table: a reference model or a method's selected checkpoint."""

    model: str
    kind: str  # "target", "retrain" or "method"
    checkpoint: str | None
    scored: Scored
    verdicts: Mapping[str, Verdict] | None = None


@dataclass(frozen=True)
class Tables:
    """Everything tabular a report shows, computed once from the results and the rules."""

    results: Results
    rules: VerdictRules
    rows: tuple[Row, ...]
    verdicts: Mapping[str, Mapping[str, Verdict]]


def build_tables(results: Results, rules: VerdictRules) -> Tables:
    verdicts = judge_all(results, rules)
    rows = [Row("target", "target", None, results.target), Row("retrain", "retrain", None, results.retrain)]
    for name, method in results.methods.items():
        rows.append(Row(name, "method", method.selected, method.selected_checkpoint, verdicts[name]))
    return Tables(results, rules, tuple(rows), verdicts)


def format_value(value: float | None, key: str = "", digits: int = 1) -> str:
    """One decimal as in the paper; PrivLeak keeps its sign; absent values read "not run"."""
    if value is None:
        return MISSING
    if key == "privleak":
        return f"{value:+.{digits}f}"
    return f"{value:.{digits}f}"


def format_cell(scored: Scored, key: str, digits: int = 1) -> str:
    """``"31.2 [28.0, 34.5]"``: the value and its confidence interval when there is one."""
    value = scored.get(key)
    text = format_value(value, key, digits)
    if value is not None and key in scored.ci:
        lo, hi = scored.ci[key]
        text += f" [{format_value(lo, key, digits)}, {format_value(hi, key, digits)}]"
    return text


def row_label(row: Row) -> str:
    return f"{row.model} ({row.checkpoint})" if row.checkpoint else row.model


def summary_header() -> list[str]:
    return ["method"] + [f"{code} {name}" for code, name in CRITERIA.items()]


def curve_rows(method: MethodResult, kind: str) -> list[tuple[str, Scored]]:
    """(x label, scores) per C5 fold or C6 request, in order."""
    if kind == "scalability":
        return [
            (f"{f.forget_docs} docs" if f.forget_docs is not None else f"fold {f.fold}", f) for f in method.scalability
        ]
    return [(f"request {r.request}", r) for r in method.sustainability]
