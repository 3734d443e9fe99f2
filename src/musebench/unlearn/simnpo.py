"""SimNPO (Fan et al. 2024, Eq. 4): NPO with the reference model replaced by length normalisation."""

from __future__ import annotations

from musebench.unlearn import losses
from musebench.unlearn.trainer import UnlearnTrainer


class SimNPOTrainer(UnlearnTrainer):
    """Forget term: mean over the step's sequences of ``-(2/beta) log sigmoid(-beta log pi(x) / |x| - gamma)``."""

    def forget_loss(self, model, forget, retain=None):
        avg_logp = losses.average_logprob(self.logits(model, forget), forget["labels"])
        per_example = losses.simnpo_loss(avg_logp, self.unlearn_config.beta, self.unlearn_config.gamma)
        return losses.batch_mean(per_example, self.normaliser("forget", "sequences"))
