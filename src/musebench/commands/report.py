"""Rebuild the report of an experiment run from its saved results.json (nothing is recomputed).

Writes RUN_DIR/report/ (or --out): index.html (offline, figures embedded), results.md, results.csv,
results.json (the table data) and plots/*.png.
"""

from __future__ import annotations

import argparse

from musebench.commands.common import INCOMPLETE_EXIT, add_fail_on_incomplete

EXAMPLES = """examples:
  musebench report runs/demo-news-mini
  musebench report runs/demo-news-mini --out /tmp/demo-report --privleak-tolerance 10
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "run_dir",
        metavar="RUN_DIR",
        help="experiment run directory holding results.json (or the results.json file itself)",
    )
    p.add_argument("--out", default=None, help="report directory (default RUN_DIR/report)")
    add_fail_on_incomplete(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="write into an --out holding other files (they are kept; one named like a report "
        "file is never overwritten)",
    )
    add_rule_flags(p)


def add_rule_flags(p: argparse.ArgumentParser) -> None:
    """The verdict's thresholds (``VerdictRules``), shared by ``report`` and ``leaderboard``."""
    p.add_argument(
        "--privleak-tolerance",
        type=float,
        default=5.0,
        help="C3 holds when |PrivLeak| <= this many percent (default 5)",
    )
    p.add_argument(
        "--utility-fraction",
        type=float,
        default=0.95,
        help="C4-C6 hold when KnowMem-r >= this fraction of the target's (default 0.95)",
    )
    p.add_argument(
        "--recovery-limit",
        type=float,
        default=0.10,
        help="C7 holds when no attack brings back more than this fraction of the forgotten KnowMem-f (default 0.10)",
    )


def run(args: argparse.Namespace) -> int:
    from musebench.io import check_output_dir
    from musebench.report import VerdictRules, build_report
    from musebench.report.build import KIND, REPORT_FILES
    from musebench.results import load_results
    from musebench.results.completeness import completeness

    if args.out:  # the report directory is replaced as a whole: never another's, never over a user's file
        check_output_dir(args.out, kind=KIND, writes=REPORT_FILES, force=args.force)
    rules = VerdictRules(
        privleak_tolerance=args.privleak_tolerance,
        utility_fraction=args.utility_fraction,
        recovery_limit=args.recovery_limit,
    )
    incomplete = completeness(load_results(args.run_dir))
    if incomplete is not None:  # the first line says so (and the page, at its top)
        print(incomplete.line(), flush=True)
    index = build_report(args.run_dir, args.out, rules=rules, force=args.force)
    print(f"report written to {index.parent}/ (open {index})")
    return INCOMPLETE_EXIT if incomplete is not None and args.fail_on_incomplete else 0
