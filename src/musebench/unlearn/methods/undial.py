"""UNDIAL (Dong et al. 2024, arXiv:2402.10052): self-distillation from the reference with adjusted logits."""

from __future__ import annotations

from dataclasses import dataclass, field

from musebench.unlearn import losses
from musebench.unlearn.config import UnlearnConfig, check_number
from musebench.unlearn.trainer import UnlearnTrainer


@dataclass
class UndialConfig(UnlearnConfig):
    """UNDIAL as OpenUnlearning's UNDIAL.yaml runs it (the paper: lr 1e-4 with LoRA)."""

    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate (OpenUnlearning's 1e-4)"})
    beta: float = field(
        default=10.0,
        metadata={
            "help": "how far the true next token's logit is lowered in the teacher (default 10 as OpenUnlearning's "
            "UNDIAL.yaml; its README suggests searching 3, 10, 30)"
        },
    )

    def __post_init__(self):
        self.reject(check_number(self, "beta", 0))
        super().__post_init__()


class UNDIALTrainer(UnlearnTrainer):
    """Forget term: cross-entropy to ``softmax(z_ref - beta * onehot(next token))`` on forget tokens.

    The teacher is the frozen start model (``needs_reference``); the original uses no retain term, since the
    teacher already keeps every token but the forgotten one where the reference had it.
    """

    def forget_loss(self, model, forget, retain=None):
        ref_logits = self.reference_logits(model, forget)
        return losses.undial_loss(
            self.logits(model, forget),
            ref_logits,
            forget["labels"],
            self.unlearn_config.beta,
            self.normaliser("forget", "targets"),
        )
