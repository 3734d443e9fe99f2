"""UNDIAL's option (a base of ``UnlearnConfig``); kept apart from the trainer so the config imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from musebench.unlearn.option_checks import finite_number


@dataclass
class UndialOptions:
    """UNDIAL (Dong et al. 2024, arXiv:2402.10052): distil from the reference with the true token's logit lowered."""

    undial_beta: float = field(default=10.0, metadata={
        "help": "how far the true next token's logit is lowered in the teacher (default 10 as OpenUnlearning's "
                "UNDIAL.yaml; its README suggests searching 3, 10, 30)",
        "weights": True, "check": finite_number(minimum=0.0)})
