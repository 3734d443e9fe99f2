"""musebench.report: turn an experiment's saved ``results.json`` into tables, figures and an offline page.

Reads saved results only; never imports unlearn, evaluate or experiment, and never recomputes a score.
"""

from musebench.report.build import build_report
from musebench.report.verdicts import CRITERIA, Verdict, VerdictRules, judge_all, judge_method
from musebench.results import Results, load_results

__all__ = [
    "CRITERIA",
    "Results",
    "Verdict",
    "VerdictRules",
    "build_report",
    "judge_all",
    "judge_method",
    "load_results",
]
