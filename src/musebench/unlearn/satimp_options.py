"""SatImp's options (a base of ``UnlearnConfig``); kept apart from the trainer so the config imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from musebench.unlearn.option_checks import finite_number


@dataclass
class SatImpOptions:
    """SatImp (Yang et al. 2025, arXiv:2505.11953): token weights p^beta1 (saturation) x (1-p)^beta2 (importance)."""

    satimp_beta1: float = field(default=5.0, metadata={
        "help": "saturation exponent: weight p^beta1 (default 5 as OpenUnlearning's SatImp.yaml)",
        "weights": True, "check": finite_number(minimum=0.0)})
    satimp_beta2: float = field(default=1.0, metadata={
        "help": "importance exponent: weight (1-p)^beta2 (default 1 as OpenUnlearning's SatImp.yaml)",
        "weights": True, "check": finite_number(minimum=0.0)})
