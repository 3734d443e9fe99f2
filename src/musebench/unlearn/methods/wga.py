"""WGA, weighted gradient ascent (Wang et al. 2025, arXiv:2502.19301)."""

from __future__ import annotations

from dataclasses import dataclass, field

from musebench.unlearn import losses
from musebench.unlearn.config import UnlearnConfig, check_number
from musebench.unlearn.trainer import UnlearnTrainer


@dataclass
class WGAConfig(UnlearnConfig):
    """WGA (Wang et al. 2025): the exponent of the token-probability weight."""

    beta: float = field(
        default=1.0,
        metadata={
            "help": "exponent of the token probability weighting the ascent (default 1 as OpenUnlearning's WGA.yaml; "
            "0 is plain gradient ascent)"
        },
    )

    def __post_init__(self):
        self.reject(check_number(self, "beta", 0))
        super().__post_init__()


class WGATrainer(UnlearnTrainer):
    """Forget term: ``-mean_t p_t^beta * NLL_t`` (weights detached) over forget tokens; no reference."""

    def forget_loss(self, model, forget, retain=None):
        return losses.wga_loss(
            self.logits(model, forget), forget["labels"], self.unlearn_config.beta, self.normaliser("forget", "targets")
        )
