"""Show two runs side by side: each model's selected scores in run A and run B, and the change."""

from __future__ import annotations

import argparse

from musebench.commands.common import INCOMPLETE_EXIT, add_fail_on_incomplete

EXAMPLES = """examples:
  musebench compare musebench_out/news-mini runs/news-mini-lr3e-4
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_a", help="run directory (or its results.json)")
    p.add_argument("run_b", help="run directory (or its results.json) to compare with the first")
    add_fail_on_incomplete(p)


def run(args: argparse.Namespace) -> int:
    from musebench.experiment.results import read_results
    from musebench.experiment.tables import compare_table
    from musebench.experiment.tables import console as make_console
    from musebench.results.completeness import completeness

    a, b = read_results(args.run_a), read_results(args.run_b)
    incomplete = [(label, completeness(r)) for label, r in ((args.run_a, a), (args.run_b, b))]
    for label, gap in incomplete:
        if gap is not None:  # first, before any table: a comparison with a run that has not finished
            print(f"{label}: {gap.line()}", flush=True)
    console = make_console(width=160)
    corpus_a, corpus_b = a.corpus, b.corpus
    if corpus_a.get("fingerprint") != corpus_b.get("fingerprint"):
        console.print(
            f"[yellow]note: the runs use different corpora ({corpus_a.get('name')} "
            f"{corpus_a.get('fingerprint')} vs {corpus_b.get('name')} {corpus_b.get('fingerprint')}); "
            "scores are not directly comparable[/yellow]"
        )
    console.print(compare_table(a, b, label_a=args.run_a, label_b=args.run_b))
    return INCOMPLETE_EXIT if args.fail_on_incomplete and any(g for _, g in incomplete) else 0
