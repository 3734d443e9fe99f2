"""Is a run finished? What ``report``, ``compare`` and ``musebench run``'s table say about a run that is still
going or was interrupted, so a page never looks complete when it is not.

A run is finished when its ``results.json`` records the total time (written once every stage is done, failed
lines included) and holds every method, reference, C5 / C6 row and C7 block its experiment asked for (the
resolved experiment is in ``provenance.experiment``). A run whose lock is held by a live process is "in
progress"; otherwise "interrupted". Files written before the experiment was recorded in the provenance are
judged by the total time alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musebench.io import RUN_LOCK_NAME, lock_is_held
from musebench.results.records import Results


@dataclass(frozen=True)
class Incomplete:
    """What a run still lacks."""

    state: str  # "in progress" or "interrupted"
    missing: tuple[str, ...]  # "method npo", "C5 of ga", "reference retrain", "C7", ...

    def line(self) -> str:
        """One line, for the first line of a command's output and the top of a page."""
        what = (
            "; missing: "
            + ", ".join(self.missing[:8])
            + (f" and {len(self.missing) - 8} more" if len(self.missing) > 8 else "")
            if self.missing
            else "; its last stages have not been recorded"
        )
        return f"INCOMPLETE run ({self.state}){what}; the numbers below cover only what has finished"

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "missing": list(self.missing)}


def completeness(results: Results) -> Incomplete | None:
    """None for a finished run; otherwise what is missing and whether a process is still writing it."""
    missing = [f"reference {role}" for role in ("target", "retrain") if results.reference(role) is None]
    experiment = results.provenance.get("experiment") if isinstance(results.provenance, dict) else None
    if isinstance(experiment, dict):
        missing += _missing_parts(results, experiment)
    ended = "total" in results.timing_s
    if ended and not missing:
        return None
    run_dir = results.source.parent if results.source is not None else None
    live = run_dir is not None and lock_is_held(Path(run_dir) / RUN_LOCK_NAME)
    return Incomplete("in progress" if live else "interrupted", tuple(missing))


def _missing_parts(results: Results, experiment: dict) -> list[str]:
    methods = experiment.get("methods")
    names = list(methods) if isinstance(methods, dict) else []
    failed = {f.line for f in results.failed}
    missing = [f"method {n}" for n in names if n not in results.methods and not _failed(n, failed)]
    for key, label in (("scalability", "C5"), ("sustainability", "C6")):
        spec = experiment.get(key)
        if not isinstance(spec, dict) or not spec.get("enabled"):
            continue
        wanted = spec.get("methods") if isinstance(spec.get("methods"), list) else names
        for n in wanted:
            done = results.methods.get(n)
            if done is not None and not done.follow_ups(key) and not _failed(n, failed):
                missing.append(f"{label} of {n}")
    robustness = experiment.get("robustness")
    if isinstance(robustness, dict) and robustness.get("enabled") and results.robustness is None:
        missing.append("C7 (robustness)")
    return missing


def _failed(name: str, failed_lines: set[str]) -> bool:
    """A method whose line failed is reported as failed (the ``failed`` list), not as missing."""
    return any(line == f"methods/{name}" or line.startswith(f"methods/{name}/") for line in failed_lines)
