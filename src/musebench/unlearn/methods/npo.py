"""Negative Preference Optimization (NPO, NPO_GDR, NPO_KLR; Zhang et al. 2024, Eq. 3; MUSE-SPEC)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from musebench.unlearn import losses
from musebench.unlearn.config import UnlearnConfig, check_number
from musebench.unlearn.trainer import UnlearnTrainer


@dataclass
class NPOConfig(UnlearnConfig):
    """NPO (Zhang et al. 2024, Eq. 3): beta 0.1 and retain weight 1 are MUSE's NPO / GDR / KLR runs."""

    beta: float = field(default=0.1, metadata={"help": "inverse temperature of the NPO term"})

    def __post_init__(self):
        self.reject(check_number(self, "beta", 0, above=True))
        super().__post_init__()


class NPOTrainer(UnlearnTrainer):
    """Forget term: mean over the step's sequences of ``-(2/beta) log sigmoid(-beta (log pi(x) - log pi_ref(x)))``.

    ``loss_form="original"`` uses the original MUSE code's element-wise-logits form instead (see
    ``losses.npo_loss_original``).
    """

    def forget_loss(self, model, forget, retain=None):
        beta = self.unlearn_config.beta
        logits = self.logits(model, forget)
        if self.unlearn_config.loss_form == "original":
            ref_logits = self.reference_logits(model, forget)
            return losses.npo_loss_original(
                logits, ref_logits, beta, forget["attention_mask"], self.normaliser("forget", "positions")
            )
        with torch.no_grad():
            ref_logp = losses.sequence_logprob(self.reference_logits(model, forget), forget["labels"])
        logp = losses.sequence_logprob(logits, forget["labels"])
        return losses.batch_mean(losses.npo_loss(logp, ref_logp, beta), self.normaliser("forget", "sequences"))
