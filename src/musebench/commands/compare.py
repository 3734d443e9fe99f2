"""Show two runs side by side: each model's selected scores in run A and run B, and the change."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  musebench compare musebench_out/news-mini runs/news-mini-lr3e-4
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_a", help="run directory (or its results.json)")
    p.add_argument("run_b", help="run directory (or its results.json) to compare with the first")


def run(args: argparse.Namespace) -> int:
    from musebench.experiment.results import read_results
    from musebench.experiment.tables import compare_table
    from musebench.experiment.tables import console as make_console

    a, b = read_results(args.run_a), read_results(args.run_b)
    console = make_console()
    if a.get("corpus", {}).get("fingerprint") != b.get("corpus", {}).get("fingerprint"):
        console.print(f"[yellow]note: the runs use different corpora ({a.get('corpus', {}).get('name')} vs "
                      f"{b.get('corpus', {}).get('name')}); scores are not directly comparable[/yellow]")
    console.print(compare_table(a, b, label_a=args.run_a, label_b=args.run_b))
    return 0
