"""musebench.results: the typed schema of an experiment's ``results.json``.

``experiment`` writes these records (``experiment.results.ResultsDoc``), ``report``, ``musebench run`` and
``musebench compare`` read them (``load_results``). Imports only ``criteria``, ``errors`` and ``io``, so
both sides may use it without importing each other.
"""

from musebench.results.parse import load_results, parse_results, read_robustness
from musebench.results.records import (
    RESULTS_FILE,
    SCHEMA_VERSION,
    Checkpoint,
    FailedLine,
    FollowUp,
    MethodResult,
    Reference,
    Results,
    ScalabilityFold,
    Scored,
    SustainabilityRequest,
)
from musebench.results.robustness import AttackResult, RobustMethod, Robustness

__all__ = [
    "RESULTS_FILE",
    "SCHEMA_VERSION",
    "AttackResult",
    "Checkpoint",
    "FailedLine",
    "FollowUp",
    "MethodResult",
    "Reference",
    "Results",
    "RobustMethod",
    "Robustness",
    "ScalabilityFold",
    "Scored",
    "SustainabilityRequest",
    "load_results",
    "parse_results",
    "read_robustness",
]
