"""Print a finished run's C7 table as Markdown: per method and attack, the recovery C7 judges with its 95 % CI
(or why it could not be judged), the gap against its noise floor, the control the attack nets out, and the
method's three-valued C7 (met / not met / inconclusive), then each method's C7 verdict as the report gives it
(naming the attacks that could not be judged).

Pure reading of ``RUN_DIR/results.json`` through the report's own functions (``musebench.report.robustness``,
``musebench.report.verdicts``): the same table as the report's "C7 per method" section, without writing a
report. A run whose attack entries predate the per-question judgements says "no per-question scores" in the
"judged" column.

    python benchmarks/c7_table.py RUN_DIR [--recovery-limit 0.10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])


def c7_markdown(run: str | Path, limit: float = 0.10) -> str:
    """The C7 section of ``run`` (a run directory or its results.json) as Markdown."""
    from musebench.report.robustness import C7_HEADER, c7_rows
    from musebench.report.verdicts import VerdictRules, judge_all
    from musebench.results import load_results

    results = load_results(run)
    if results.robustness is None or not results.robustness.methods:
        return f"{results.name}: no robustness attacks on any method in these results (C7 not run)"
    rules = VerdictRules(recovery_limit=limit)
    verdicts = judge_all(results, rules)
    out = [
        f"C7 of run `{results.name}` (limit {limit:.0%}):",
        "",
        markdown_table(C7_HEADER, c7_rows(results.robustness, limit)),
        "",
        "C7 in the six-way summary (a method that forgot almost nothing is 'not judged' there):",
        "",
    ]
    for method in results.robustness.methods:
        verdict = verdicts[method]["C7"] if method in verdicts else None
        if verdict is not None:
            out.append(f"- {method}: **{verdict.status}**: {verdict.reason}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory (or its results.json)")
    p.add_argument("--recovery-limit", type=float, default=0.10, help="C7's limit (default 0.10)")
    args = p.parse_args(argv)
    from musebench.errors import MusebenchError

    try:
        print(c7_markdown(args.run_dir, args.recovery_limit))
    except MusebenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
