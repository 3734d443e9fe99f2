"""NPO-SAM's option (a base of ``UnlearnConfig``); apart from the trainer so the config imports no torch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def _radius(value) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    return None if ok else "must be a finite number >= 0"


@dataclass
class SAMOptions:
    """NPO-SAM (Fan et al. 2025, arXiv 2502.05374): the radius of the weight perturbation."""

    sam_rho: float = field(default=0.01, metadata={
        "help": "radius rho of SAM's weight perturbation before the forget gradient (NPO-SAM; 0.01 as Fan et al. "
                "2025 on MUSE; 0 is plain NPO)", "weights": True, "check": _radius})
