"""WGA, weighted gradient ascent (Wang et al. 2025, arXiv:2502.19301)."""

from __future__ import annotations

from musebench.unlearn import losses
from musebench.unlearn.trainer import UnlearnTrainer


class WGATrainer(UnlearnTrainer):
    """Forget term: ``-mean_t p_t^wga_beta * NLL_t`` (weights detached) over forget tokens; no reference."""

    def forget_loss(self, model, forget, retain=None):
        return losses.wga_loss(self.logits(model, forget), forget["labels"], self.unlearn_config.wga_beta,
                               self.normaliser("forget", "targets"))
