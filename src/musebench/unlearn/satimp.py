"""SatImp (Yang et al. 2025, arXiv:2505.11953): gradient ascent reweighted by saturation and importance."""

from __future__ import annotations

from musebench.unlearn import losses
from musebench.unlearn.trainer import UnlearnTrainer


class SatImpTrainer(UnlearnTrainer):
    """Forget term: ``-mean_t p_t^beta1 (1 - p_t)^beta2 * NLL_t`` (weights detached) over forget tokens."""

    def forget_loss(self, model, forget, retain=None):
        c = self.unlearn_config
        return losses.satimp_loss(self.logits(model, forget), forget["labels"], c.satimp_beta1, c.satimp_beta2,
                                  self.normaliser("forget", "targets"))
