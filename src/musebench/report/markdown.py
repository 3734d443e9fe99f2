"""``results.md``: the report as Markdown (figures linked from ``plots/``), for a README or a pull request."""

from __future__ import annotations

from collections.abc import Sequence

from musebench.criteria import FOLLOW_UPS, criterion_of
from musebench.report.plots import Plot
from musebench.report.tables import (
    COLUMNS,
    CURVE_METRICS,
    MISSING,
    Tables,
    curve_rows,
    format_cell,
    row_label,
)
from musebench.report.verdicts import CRITERIA, retrain_utility_note


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    escape = [[cell.replace("|", "\\|") for cell in line] for line in [list(header), *rows]]
    lines = ["| " + " | ".join(escape[0]) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(line) + " |" for line in escape[1:]]
    return lines


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


def render_markdown(tables: Tables, plots: Sequence[Plot]) -> str:
    results = tables.results
    out = [f"# MUSE report: {results.name}", ""]
    out += [f"- {name}: {value}" for name, value in header_facts(tables)]
    out += ["", "Rebuilt from the run's saved `results.json`; nothing was recomputed.", ""]

    out += ["## Six-way summary", ""]
    if results.methods:
        out += _table(["method"] + [f"{c} {n}" for c, n in CRITERIA.items()],
                      [[f"{name} ({results.methods[name].selected})"] + [v.symbol for v in verdicts.values()]
                       for name, verdicts in tables.verdicts.items()])
    else:
        out.append("No unlearning method in these results.")
    out += ["", "Verdict rules (selected checkpoint of each method):", ""]
    out += [f"- **{code} {CRITERIA[code]}**: {rule}." for code, rule in tables.rules.describe().items()]
    out += ["- ✓ met, ✗ not met, *not run*: the results hold no numbers for it (not a failure); – not judged: "
            "the method forgot almost nothing, so C4-C7 say nothing about it.", ""]
    note = retrain_utility_note(results, tables.rules)
    if note:
        out += [f"**{note}**", ""]

    out += ["## Results (Table 3 style)", ""]
    out += _table(["model"] + list(COLUMNS.values()),
                  [[row_label(r)] + [format_cell(r.scored, k) for k in COLUMNS] for r in tables.rows])
    out += ["", ("ROUGE-L F1 x 100 for VerbMem and KnowMem; PrivLeak = (AUC - AUC_retrain) / AUC_retrain x 100. "
                 "Brackets: bootstrap confidence interval."), ""]

    if tables.verdicts:
        out += ["### Why each verdict", ""]
        out += _table(["method", "criterion", "verdict", "numbers"],
                      [[name, f"{c} {CRITERIA[c]}", v.status, v.reason]
                       for name, verdicts in tables.verdicts.items() for c, v in verdicts.items()])
        out += ["", "### Checkpoint selection", ""]
        out += _table(["method", "checkpoints", "selected", "reason"],
                      [[name, ", ".join(c.label for c in m.checkpoints), m.selected, m.selection_reason or ""]
                       for name, m in results.methods.items()])
        out.append("")

    for kind in FOLLOW_UPS:
        title = criterion_of(kind).heading
        out += [f"## {title}", ""]
        ran = {n: m for n, m in results.methods.items() if getattr(m, kind)}
        if not ran:
            out += ["Not run: these results hold no " + kind + " runs.", ""]
            continue
        first = "forget size" if kind == "scalability" else "request"
        out += _table(["method", first, "selected"] + [COLUMNS[k] for k in CURVE_METRICS],
                      [[name, x, point.selected or ""] + [format_cell(point, k) for k in CURVE_METRICS]
                       for name, m in ran.items() for x, point in curve_rows(m, kind)])
        skipped = [n for n in results.methods if n not in ran]
        if skipped:
            out += ["", f"Not run for: {', '.join(skipped)}."]
        out.append("")

    out += _robustness_section(tables)
    out += ["## Figures", ""]
    for plot in plots:
        out += [f"### {plot.title}", "", f"![{plot.title}]({plot.filename})", "", plot.caption, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _robustness_section(tables: Tables) -> list[str]:
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
    out = ["## C7 Robustness", ""]
    if doc is None:
        return out + ["Not run: these results hold no robustness attacks.", ""]
    out += [f"- {line}" for line in describe_settings(doc)] + [""]
    out += _table(TABLE_HEADER, [table_cells(r) for r in robustness_rows(doc)])
    out += ["", "### C7 per method (met / not met / inconclusive)", ""]
    out += _table(C7_HEADER, c7_rows(doc, tables.rules.recovery_limit))
    out += ["", NOTE, ""]
    return out
