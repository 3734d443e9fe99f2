"""Capped gradient ascent: GA that stops pushing a token once its NLL passes a floor (a musebench plugin)."""

from dataclasses import dataclass, field

import torch

from musebench.unlearn import Method
from musebench.unlearn.losses import token_logprobs
from musebench.unlearn.method_options import options_of
from musebench.unlearn.trainer import UnlearnTrainer


def capped_ga_loss(logits, labels, floor: float, normaliser=None) -> torch.Tensor:
    """Mean over real tokens of ``max(log p(x_t | x_<t), -floor)``: GA whose gradient is zero past the floor."""
    logp, mask = token_logprobs(logits, labels)
    total = (torch.clamp(logp, min=-floor) * mask).sum()
    return total / (normaliser if normaliser is not None else mask.sum().clamp(min=1))


@dataclass
class CappedOptions:
    capped_floor: float = field(default=8.0, metadata={"help": "NLL (nats) past which a token is left alone"})

    def __post_init__(self):
        if not self.capped_floor > 0:
            raise ValueError(f"capped_floor must be > 0, got {self.capped_floor}")


class CappedGATrainer(UnlearnTrainer):
    def forget_loss(self, model, forget, retain=None):
        floor = options_of(self.unlearn_config).capped_floor
        return capped_ga_loss(self.logits(model, forget), forget["labels"], floor,
                              self.normaliser("forget", "targets"))


METHOD = Method("musebench_example_method:CappedGATrainer", "gradient ascent, no push past an NLL floor",
                options=CappedOptions)
