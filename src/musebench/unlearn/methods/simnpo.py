"""SimNPO (Fan et al. 2024, Eq. 4): NPO with the reference model replaced by length normalisation."""

from __future__ import annotations

from dataclasses import dataclass, field

from musebench.unlearn import losses
from musebench.unlearn.config import UnlearnConfig, check_number
from musebench.unlearn.trainer import UnlearnTrainer


@dataclass
class SimNPOConfig(UnlearnConfig):
    """SimNPO (Fan et al. 2024, Eq. 4): beta 2.5 without a retain term is the authors' TOFU setting."""

    beta: float = field(default=2.5, metadata={"help": "inverse temperature"})
    gamma: float = field(default=0.0, metadata={"help": "reward margin"})

    def __post_init__(self):
        self.reject(check_number(self, "beta", 0, above=True), check_number(self, "gamma"))
        super().__post_init__()


@dataclass
class SimNPOGDRConfig(SimNPOConfig):
    """SimNPO_GDR as its authors ran MUSE: beta 0.7 (News; 0.75 on Books), retain weight 0.1 (their configs)."""

    beta: float = field(default=0.7, metadata={"help": "inverse temperature (0.7: the authors' MUSE-News run)"})
    alpha: float = field(default=0.1, metadata={"help": "weight of the retain term (0.1: the authors' MUSE runs)"})


class SimNPOTrainer(UnlearnTrainer):
    """Forget term: mean over the step's sequences of ``-(2/beta) log sigmoid(-beta log pi(x) / |x| - gamma)``."""

    def forget_loss(self, model, forget, retain=None):
        avg_logp = losses.average_logprob(self.logits(model, forget), forget["labels"])
        per_example = losses.simnpo_loss(avg_logp, self.unlearn_config.beta, self.unlearn_config.gamma)
        return losses.batch_mean(per_example, self.normaliser("forget", "sequences"))
