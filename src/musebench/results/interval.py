"""A bootstrap 95 % interval as ``results.json`` holds it; shared by the records and C7's block, which
import it from here so that neither imports the other."""

from __future__ import annotations

from collections.abc import Mapping

Interval = tuple[float, float]


def ci_dict(ci: Mapping[str, Interval]) -> dict[str, list[float]]:
    """Intervals as the JSON lists the file stores."""
    return {k: [lo, hi] for k, (lo, hi) in ci.items()}
