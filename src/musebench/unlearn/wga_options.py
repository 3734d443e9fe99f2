"""WGA's option (a base of ``UnlearnConfig``); kept apart from the trainer so the config imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from musebench.unlearn.option_checks import finite_number


@dataclass
class WGAOptions:
    """WGA (Wang et al. 2025, arXiv:2502.19301): gradient ascent with each token weighted by p^wga_beta."""

    wga_beta: float = field(default=1.0, metadata={
        "help": "exponent of the token probability weighting the ascent (default 1 as OpenUnlearning's WGA.yaml; "
                "0 is plain gradient ascent)",
        "weights": True, "check": finite_number(minimum=0.0)})
