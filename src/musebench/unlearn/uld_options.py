"""ULD's options (``uld.py``), a base of ``UnlearnConfig``: a light module that imports nothing of the package."""

from __future__ import annotations

from dataclasses import dataclass, field


def default_layers(num_layers: int) -> int:
    """The assistant's depth when ``uld_layers`` is not given: a quarter of the target's layers, at least 1."""
    return max(1, num_layers // 4)


@dataclass
class ULDOptions:
    """The ULD assistant (Ji et al. 2024): its size and the weight of its retain (flattening) term."""

    uld_layers: int | None = field(default=None, metadata={"help": (
        "decoder layers of the target the assistant keeps (its first ones; default: a quarter of the "
        "target's, at least 1)"), "weights": True})
    uld_retain_weight: float = field(default=1.0, metadata={"help": (
        "weight of the assistant's retain term KL(uniform || p) against its forget NLL"), "weights": True})
