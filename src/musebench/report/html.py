"""``index.html``: the report as one self-contained page that works offline.

The figures are embedded as base64 ``data:`` URIs and the style sheet is inlined, so the single file can be
mailed or archived. A Content-Security-Policy forbids every network fetch and every script, so a page that
renders here would render the same with no network at all.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from html import escape
from importlib import resources
from pathlib import Path

from musebench.criteria import FOLLOW_UPS, criterion_of
from musebench.report.markdown import header_facts
from musebench.report.plots import Plot
from musebench.report.tables import COLUMNS, CURVE_METRICS, Tables, curve_rows, format_cell, row_label
from musebench.report.verdicts import CRITERIA, INCONCLUSIVE, MET, NOT_MET

#: No fetches, no scripts: only inline styles and embedded images.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
SECTIONS = (("summary", "Six-way summary"), ("results", "Results"), ("tradeoff", "Trade-off"),
            ("privacy", "PrivLeak"), ("curves", "Per-method curves"), ("scalability", "C5"),
            ("sustainability", "C6"), ("robustness", "C7"), ("provenance", "Provenance"))


def _css() -> str:
    return resources.files("musebench.report").joinpath("templates/style.css").read_text(encoding="utf-8")


def _img(plot: Plot, report_dir: Path) -> str:
    data = base64.b64encode((report_dir / plot.filename).read_bytes()).decode("ascii")
    return (f'<figure id="plot-{escape(plot.key)}"><img src="data:image/png;base64,{data}" '
            f'alt="{escape(plot.title)}" data-file="{escape(plot.filename)}">'
            f"<figcaption><strong>{escape(plot.title)}.</strong> {escape(plot.caption)}</figcaption></figure>")


def _table(header: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _verdict_cell(status: str, symbol: str, reason: str) -> str:
    css = {MET: "met", NOT_MET: "not-met", INCONCLUSIVE: "inconclusive"}.get(status, "not-run")
    return (f'<td class="{css}" title="{escape(reason)}">{escape(symbol)}'
            f'<span class="why">{escape(reason)}</span></td>')


def _summary(tables: Tables) -> str:
    results = tables.results
    if not results.methods:
        body = '<p class="not-run-block">No unlearning method in these results.</p>'
    else:
        rows = []
        for name, verdicts in tables.verdicts.items():
            cells = "".join(_verdict_cell(v.status, v.symbol, v.reason) for v in verdicts.values())
            rows.append(f"<tr><th>{escape(name)}<span class='why'>{escape(results.methods[name].selected)}"
                        f"</span></th>{cells}</tr>")
        body = _table(["method"] + [f"{c} {n}" for c, n in CRITERIA.items()], rows)
    rules = "".join(f"<li><strong>{c} {escape(CRITERIA[c])}</strong>: {escape(rule)}.</li>"
                    for c, rule in tables.rules.describe().items())
    return (f"{body}<p>Verdict rules, applied to each method's selected checkpoint:</p>"
            f'<ol class="rules">{rules}</ol><p class="note">✓ met, ✗ not met, <em>not run</em>: the results '
            f"hold no numbers for this criterion (not a failure); – not judged: the method forgot almost nothing, "
            f"so C4-C7 say nothing about it.</p>{_retrain_note(tables)}")


def _retrain_note(tables: Tables) -> str:
    from musebench.report.verdicts import retrain_utility_note

    note = retrain_utility_note(tables.results, tables.rules)
    return f'<p class="warning"><strong>{escape(note)}</strong></p>' if note else ""


def _results_table(tables: Tables) -> str:
    rows = []
    for row in tables.rows:
        css = ' class="reference"' if row.kind != "method" else ""
        cells = "".join(f'<td class="num">{escape(format_cell(row.scored, k))}</td>' for k in COLUMNS)
        rows.append(f"<tr{css}><td>{escape(row_label(row))}</td>{cells}</tr>")
    selection = "".join(f"<tr><td>{escape(n)}</td><td>{escape(m.selected)}</td>"
                        f"<td>{escape(m.selection_reason or '')}</td></tr>"
                        for n, m in tables.results.methods.items())
    return (_table(["model"] + list(COLUMNS.values()), rows)
            + '<p class="note">ROUGE-L F1 x 100 for VerbMem and KnowMem; PrivLeak = (AUC - AUC<sub>retrain</sub>)'
              " / AUC<sub>retrain</sub> x 100 (0 = like the retrain model). Brackets: bootstrap confidence "
              "interval.</p>"
            + ("<h3>Checkpoint selection</h3>" + _table(["method", "selected", "reason"], [selection])
               if selection else ""))


def _fold_section(tables: Tables, kind: str, plots: dict[str, Plot], report_dir: Path) -> str:
    ran = {n: m for n, m in tables.results.methods.items() if getattr(m, kind)}
    if not ran:
        return f'<p class="not-run-block">Not run: these results hold no {kind} runs.</p>'
    first = "forget size" if kind == "scalability" else "request"
    rows = [f"<tr><td>{escape(name)}</td><td>{escape(x)}</td><td>{escape(p.selected or '')}</td>"
            + "".join(f'<td class="num">{escape(format_cell(p, k))}</td>' for k in CURVE_METRICS) + "</tr>"
            for name, m in ran.items() for x, p in curve_rows(m, kind)]
    parts = [_img(plots[kind], report_dir)] if kind in plots else []
    parts.append(_table(["method", first, "selected"] + [COLUMNS[k] for k in CURVE_METRICS], rows))
    skipped = [n for n in tables.results.methods if n not in ran]
    if skipped:
        parts.append(f'<p class="note">Not run for: {escape(", ".join(skipped))}.</p>')
    return "".join(parts)


def _robustness(tables: Tables, plots: dict[str, Plot], report_dir: Path) -> str:
    from musebench.report.robustness import (
        C7_HEADER,
        NOTE,
        TABLE_HEADER,
        c7_rows,
        describe_settings,
        robustness_rows,
        table_cells,
    )

    doc = tables.results.robustness
    if doc is None:
        return '<p class="not-run-block">Not run: these results hold no robustness attacks.</p>'
    parts = [_img(plots["recovery"], report_dir)] if "recovery" in plots else []
    parts.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in describe_settings(doc)) + "</ul>")
    rows = []
    for row in robustness_rows(doc):
        css = ' class="reference"' if row.kind != "method" else ""
        rows.append(f"<tr{css}>" + "".join(f"<td>{escape(c)}</td>" for c in table_cells(row)) + "</tr>")
    parts.append(_table(TABLE_HEADER, rows))
    parts.append("<h3>C7 per method (met / not met / inconclusive)</h3>")
    parts.append(_table(C7_HEADER, ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in line) + "</tr>"
                                    for line in c7_rows(doc, tables.rules.recovery_limit)]))
    parts.append(f'<p class="note">{escape(NOTE)}</p>')
    return "".join(parts)


def render_html(tables: Tables, plots: Sequence[Plot], report_dir: Path) -> str:
    """The page; ``report_dir`` holds the PNGs named by ``plots``, which are embedded."""
    results = tables.results
    by_key = {p.key: p for p in plots}
    facts = "".join(f"<dt>{escape(n)}</dt><dd>{escape(v)}</dd>" for n, v in header_facts(tables))
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title in SECTIONS)
    curves = "".join(_img(p, report_dir) for p in plots if p.key.startswith("curves-")) or \
        '<p class="not-run-block">No unlearning method in these results.</p>'
    provenance = escape(json.dumps({"corpus": results.corpus, "provenance": results.provenance,
                                    "timing_s": results.timing_s}, indent=2, ensure_ascii=False))
    body = [
        f"<h1>MUSE report: {escape(results.name)}</h1>",
        f"<nav>{nav}</nav>",
        f'<dl class="facts">{facts}</dl>',
        '<p class="note">Rebuilt from the run\'s saved results.json; nothing was recomputed.</p>',
        f'<section id="summary"><h2>Six-way summary</h2>{_summary(tables)}</section>',
        f'<section id="results"><h2>Results (Table 3 style)</h2>{_results_table(tables)}</section>',
        f'<section id="tradeoff"><h2>Forget vs utility</h2>{_img(by_key["tradeoff"], report_dir)}</section>',
        f'<section id="privacy"><h2>Privacy leakage</h2>{_img(by_key["privleak"], report_dir)}</section>',
        f'<section id="curves"><h2>Per-method curves</h2>{curves}</section>',
        *(f'<section id="{kind}"><h2>{criterion_of(kind).heading}</h2>'
          f"{_fold_section(tables, kind, by_key, report_dir)}</section>" for kind in FOLLOW_UPS),
        f'<section id="robustness"><h2>C7 Robustness</h2>{_robustness(tables, by_key, report_dir)}</section>',
        (f'<section id="provenance"><h2>Provenance</h2><details><summary>corpus, versions, settings, timing'
         f"</summary><pre>{provenance}</pre></details></section>"),
        ("<footer>musebench report · results.md, results.csv and results.json beside this page hold the same "
         "numbers.</footer>"),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>MUSE report: {escape(results.name)}</title>\n<style>\n{_css()}</style>\n</head>\n"
            "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n")
