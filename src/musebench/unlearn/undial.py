"""UNDIAL (Dong et al. 2024, arXiv:2402.10052): self-distillation from the reference with adjusted logits."""

from __future__ import annotations

from musebench.unlearn import losses
from musebench.unlearn.trainer import UnlearnTrainer


class UNDIALTrainer(UnlearnTrainer):
    """Forget term: cross-entropy to ``softmax(z_ref - undial_beta * onehot(next token))`` on forget tokens.

    The teacher is the frozen start model (``needs_reference``); the original uses no retain term, since the
    teacher already keeps every token but the forgotten one where the reference had it.
    """

    def forget_loss(self, model, forget, retain=None):
        ref_logits = self.reference_logits(model, forget)
        return losses.undial_loss(self.logits(model, forget), ref_logits, forget["labels"],
                                  self.unlearn_config.undial_beta, self.normaliser("forget", "targets"))
