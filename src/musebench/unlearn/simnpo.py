"""SimNPO (Fan et al. 2024, Eq. 4): NPO with the reference model replaced by length normalisation."""

from __future__ import annotations

from musebench.unlearn import losses
from musebench.unlearn.trainer import UnlearnTrainer


class SimNPOTrainer(UnlearnTrainer):
    """Forget term: mean over the batch of ``-(2/beta) log sigmoid(-beta log pi(x) / |x| - gamma)``."""

    def forget_loss(self, model, forget, retain=None):
        avg_logp = losses.average_logprob(self.logits(model, forget), forget["labels"])
        return losses.simnpo_loss(avg_logp, self.unlearn_config.beta, self.unlearn_config.gamma).mean()
