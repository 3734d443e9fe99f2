"""Plain fine-tuning on the forget text: the fine-tuned model theta_ft of Task Vector and WHP (MUSE-SPEC)."""

from __future__ import annotations

from musebench.unlearn import losses
from musebench.unlearn.trainer import UnlearnTrainer


class FinetuneTrainer(UnlearnTrainer):
    """Minimise the forget NLL L_f (the opposite of gradient ascent)."""

    def forget_loss(self, model, forget, retain=None):
        return losses.nll(self.logits(model, forget), forget["labels"], self.normaliser("forget", "targets"))
