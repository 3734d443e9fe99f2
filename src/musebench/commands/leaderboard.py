"""Rank the methods of several experiment runs (seeds, machines, corpora) on one offline HTML page.

Per method: the mean and spread (standard deviation) over the runs of each score of its selected checkpoint, in
how many runs each of the C1-C7 verdicts was met, a rank (mean number of criteria met, then mean KnowMem-r), a
forget-vs-utility figure, and a link to each run's report. Nothing is recomputed; the runs are only read.
"""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  musebench leaderboard runs/seed-0 runs/seed-1 runs/seed-2 --out leaderboard/
  musebench leaderboard musebench_out/news-mini-quick runs/other-machine/news-mini-quick --utility-fraction 0.9
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", metavar="RUN", nargs="+", help="experiment run directories (each holding results.json)")
    p.add_argument(
        "--out", default="leaderboard", help="output directory for index.html and leaderboard.md (default leaderboard/)"
    )
    p.add_argument("--force", action="store_true", help="write into a directory holding files musebench did not write")
    from musebench.commands.report import add_rule_flags

    add_rule_flags(p)


def run(args: argparse.Namespace) -> int:
    from musebench.report import VerdictRules
    from musebench.report.leaderboard import write_leaderboard

    rules = VerdictRules(
        privleak_tolerance=args.privleak_tolerance,
        utility_fraction=args.utility_fraction,
        recovery_limit=args.recovery_limit,
    )
    page = write_leaderboard(args.runs, args.out, rules, force=args.force)
    print(f"leaderboard of {len(args.runs)} runs written to {page} (tables also in {page.parent / 'leaderboard.md'})")
    return 0
