"""SatImp (Yang et al. 2025, arXiv:2505.11953): gradient ascent reweighted by saturation and importance."""

from __future__ import annotations

from dataclasses import dataclass, field

from musebench.unlearn import losses
from musebench.unlearn.config import UnlearnConfig, check_number
from musebench.unlearn.trainer import UnlearnTrainer


@dataclass
class SatImpConfig(UnlearnConfig):
    """SatImp (Yang et al. 2025): token weights p^beta1 (saturation) x (1-p)^beta2 (importance)."""

    beta1: float = field(
        default=5.0,
        metadata={"help": "saturation exponent: weight p^beta1 (default 5 as OpenUnlearning's SatImp.yaml)"},
    )
    beta2: float = field(
        default=1.0,
        metadata={"help": "importance exponent: weight (1-p)^beta2 (default 1 as OpenUnlearning's SatImp.yaml)"},
    )

    def __post_init__(self):
        self.reject(check_number(self, "beta1", 0), check_number(self, "beta2", 0))
        super().__post_init__()


@dataclass
class SatImpGDRConfig(SatImpConfig):
    """SatImp_GDR: retain weight 10, OpenUnlearning's forget 0.1 : retain 1."""

    alpha: float = field(default=10.0, metadata={"help": "weight of the retain term (OpenUnlearning's 10)"})


class SatImpTrainer(UnlearnTrainer):
    """Forget term: ``-mean_t p_t^beta1 (1 - p_t)^beta2 * NLL_t`` (weights detached) over forget tokens."""

    def forget_loss(self, model, forget, retain=None):
        c = self.unlearn_config
        return losses.satimp_loss(
            self.logits(model, forget), forget["labels"], c.beta1, c.beta2, self.normaliser("forget", "targets")
        )
