"""The report page as data, built once from the tables and figures; ``pages.render`` turns it into
``index.html`` (``report.html``) and ``results.md`` (``report.md``).

HTML embeds each figure (read from the report directory) and the Markdown links it, so one ``Figure`` holds both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from musebench.criteria import FOLLOW_UPS, criterion_of
from musebench.pages import Line, data_uri, render
from musebench.report.plots import Plot
from musebench.report.robustness import (
    C7_HEADER,
    NOTE,
    TABLE_HEADER,
    c7_rows,
    describe_settings,
    robustness_rows,
    table_cells,
)
from musebench.report.tables import (
    COLUMNS,
    CURVE_METRICS,
    MISSING,
    Tables,
    curve_rows,
    format_cell,
    row_label,
    summary_header,
)
from musebench.report.verdicts import CRITERIA, INCONCLUSIVE, MET, NOT_MET, retrain_utility_note

#: (anchor, link text) of the page's navigation bar.
SECTIONS = (
    ("summary", "Six-way summary"),
    ("results", "Results"),
    ("tradeoff", "Trade-off"),
    ("privacy", "PrivLeak"),
    ("curves", "Per-method curves"),
    ("scalability", "C5"),
    ("sustainability", "C6"),
    ("robustness", "C7"),
    ("provenance", "Provenance"),
)
VERDICT_CLASS = {MET: "met", NOT_MET: "not-met", INCONCLUSIVE: "inconclusive"}  # else "not-run"


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    caption: str
    filename: str  # relative to the report directory (Markdown links it)
    src: str  # the PNG as a data: URI (HTML embeds it)


@dataclass(frozen=True)
class Cell:
    """A verdict: its symbol, its reason and the CSS class of its status."""

    status: str
    symbol: str
    reason: str
    css: str


@dataclass(frozen=True)
class FollowUp:
    """The C5 or C6 section: one line per fold or request of the methods that ran it."""

    kind: str
    heading: str
    header: tuple[str, ...]
    lines: tuple[Line, ...]  # empty: not run by any method
    skipped: tuple[str, ...]
    figure: Figure | None


@dataclass(frozen=True)
class RobustnessPart:
    settings: tuple[str, ...]
    header: tuple[str, ...]
    lines: tuple[Line, ...]
    c7_header: tuple[str, ...]
    c7_lines: tuple[Line, ...]
    note: str
    figure: Figure | None


@dataclass(frozen=True)
class ReportPage:
    name: str
    facts: tuple[tuple[str, str], ...]
    incomplete: str | None
    criteria: tuple[str, ...]  # "C1 No verbatim memorization", ...
    summary: tuple[tuple[str, str, tuple[Cell, ...]], ...]  # (method, selected checkpoint, verdicts)
    rules: tuple[tuple[str, str], ...]  # ("C1 ...", rule)
    retrain_note: str | None
    columns: tuple[str, ...]
    results: tuple[Line, ...]
    reasons: tuple[Line, ...]  # (method, criterion, verdict, numbers)
    selection: tuple[Line, ...]  # (method, checkpoints, selected, reason)
    figures: tuple[Figure, ...]
    follow_ups: tuple[FollowUp, ...]
    robustness: RobustnessPart | None
    provenance: str

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)

    @property
    def curves(self) -> tuple[Figure, ...]:
        return tuple(f for f in self.figures if f.key.startswith("curves-"))


def header_facts(tables: Tables) -> list[tuple[str, str]]:
    """(name, value) lines shown at the top of both pages."""
    results = tables.results
    corpus, prov = results.corpus, results.provenance
    facts = [("corpus", str(corpus.get("name", MISSING)))]
    if corpus.get("fingerprint"):
        facts.append(("corpus fingerprint", str(corpus["fingerprint"])))
    for key in ("created", "musebench", "torch", "transformers", "seed"):
        if prov.get(key) is not None:
            facts.append((key, str(prov[key])))
    if results.retrain_auc is not None:
        facts.append(("retrain AUC (PrivLeak reference)", f"{results.retrain_auc:.4f}"))
    if results.timing_s.get("total") is not None:
        facts.append(("total time", f"{results.timing_s['total']:.1f} s"))
    return facts


def report_page(tables: Tables, plots: Sequence[Plot], report_dir: Path, incomplete: str | None = None) -> ReportPage:
    """Everything both pages show; ``report_dir`` holds the PNGs named by ``plots``."""
    results = tables.results
    figures = tuple(
        Figure(p.key, p.title, p.caption, p.filename, data_uri((report_dir / p.filename).read_bytes())) for p in plots
    )
    by_key = {f.key: f for f in figures}
    summary = (
        tuple(
            (
                name,
                results.methods[name].selected,
                tuple(
                    Cell(v.status, v.symbol, v.reason, VERDICT_CLASS.get(v.status, "not-run"))
                    for v in verdicts.values()
                ),
            )
            for name, verdicts in tables.verdicts.items()
        )
        if results.methods
        else ()
    )
    return ReportPage(
        name=results.name,
        facts=tuple(header_facts(tables)),
        incomplete=incomplete,
        criteria=tuple(summary_header()[1:]),
        summary=summary,
        rules=tuple((f"{code} {CRITERIA[code]}", rule) for code, rule in tables.rules.describe().items()),
        retrain_note=retrain_utility_note(results, tables.rules),
        columns=tuple(COLUMNS.values()),
        results=tuple(
            Line((row_label(r), *(format_cell(r.scored, k) for k in COLUMNS)), r.kind != "method") for r in tables.rows
        ),
        reasons=tuple(
            Line((name, f"{c} {CRITERIA[c]}", v.status, v.reason))
            for name, verdicts in tables.verdicts.items()
            for c, v in verdicts.items()
        ),
        selection=tuple(
            Line((name, ", ".join(c.label for c in m.checkpoints), m.selected, m.selection_reason or ""))
            for name, m in results.methods.items()
        ),
        figures=figures,
        follow_ups=tuple(_follow_up(tables, kind, by_key.get(kind)) for kind in FOLLOW_UPS),
        robustness=_robustness(tables, by_key.get("recovery")),
        provenance=json.dumps(
            {"corpus": results.corpus, "provenance": results.provenance, "timing_s": results.timing_s},
            indent=2,
            ensure_ascii=False,
        ),
    )


def _follow_up(tables: Tables, kind: str, figure: Figure | None) -> FollowUp:
    methods = tables.results.methods
    ran = {n: m for n, m in methods.items() if getattr(m, kind)}
    first = "forget size" if kind == "scalability" else "request"
    return FollowUp(
        kind=kind,
        heading=criterion_of(kind).heading,
        header=("method", first, "selected", *(COLUMNS[k] for k in CURVE_METRICS)),
        lines=tuple(
            Line((name, x, point.selected or "", *(format_cell(point, k) for k in CURVE_METRICS)))
            for name, m in ran.items()
            for x, point in curve_rows(m, kind)
        ),
        skipped=tuple(n for n in methods if n not in ran) if ran else (),
        figure=figure,
    )


def _robustness(tables: Tables, figure: Figure | None) -> RobustnessPart | None:
    doc = tables.results.robustness
    if doc is None:
        return None
    return RobustnessPart(
        settings=tuple(describe_settings(doc)),
        header=tuple(TABLE_HEADER),
        lines=tuple(Line(tuple(table_cells(r)), r.kind != "method") for r in robustness_rows(doc)),
        c7_header=tuple(C7_HEADER),
        c7_lines=tuple(Line(tuple(line)) for line in c7_rows(doc, tables.rules.recovery_limit)),
        note=NOTE,
        figure=figure,
    )


def render_html(page: ReportPage) -> str:
    return render("report.html", page=page, sections=SECTIONS, incomplete=page.incomplete)


def render_markdown(page: ReportPage) -> str:
    return render("report.md", page=page).rstrip("\n") + "\n"
