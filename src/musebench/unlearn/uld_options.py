"""ULD's options (``uld.py``), a base of ``UnlearnConfig``: a light module that imports nothing of the package."""

from __future__ import annotations

from dataclasses import dataclass, field

#: ULD's alphas when none are given: the paper subtracts the assistant with a weight of at most 1 (its
#: reference eval scripts use 0.8 on TOFU and 0.7 on Harry Potter); Task Vector / WHP's powers of two up to
#: 512 would erase everything.
ULD_ALPHAS = (0.2, 0.4, 0.6, 0.8, 1.0)
#: The relative-top plausibility filter of ULD's reference code (``top_logit_filter`` in its
#: configs/model_mode/uld.yaml, on in every eval script): the assistant is subtracted only on tokens the
#: target finds plausible.
ULD_TOP_LOGIT_FILTER = 0.1
#: The assistant's retain weight in the reference code (configs/unlearn_loss/remember+uniform.yaml).
ULD_RETAIN_WEIGHT = 5.0


def default_layers(num_layers: int) -> int:
    """The assistant's depth when ``uld_layers`` is not given: a quarter of the target's layers, at least 1."""
    return max(1, num_layers // 4)


@dataclass
class ULDOptions:
    """The ULD assistant (Ji et al. 2024): its size and the weight of its retain (flattening) term."""

    uld_layers: int | None = field(default=None, metadata={"help": (
        "decoder layers of the target the assistant keeps (its first ones; default: a quarter of the "
        "target's, at least 1)"), "weights": True})
    uld_retain_weight: float = field(default=ULD_RETAIN_WEIGHT, metadata={"help": (
        "weight of the assistant's retain term KL(uniform || p) against its forget NLL (default 5: the "
        "reference code's remember+uniform.yaml)"), "weights": True})
    uld_top_logit_filter: float = field(default=ULD_TOP_LOGIT_FILTER, metadata={"help": (
        "relative-top plausibility filter: the assistant is subtracted only where the target's probability "
        "is at least this share of its top token's (0 = off; default 0.1: the reference code's uld.yaml)"),
        "weights": True})
