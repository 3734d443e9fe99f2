"""Capped gradient ascent: GA that stops pushing a token once its NLL passes a floor (a musebench plugin)."""

from dataclasses import dataclass, field

import torch

from musebench.unlearn import Method, UnlearnConfig
from musebench.unlearn.losses import token_logprobs
from musebench.unlearn.trainer import UnlearnTrainer


def capped_ga_loss(logits, labels, floor: float, normaliser=None) -> torch.Tensor:
    """Mean over real tokens of ``max(log p(x_t | x_<t), -floor)``: GA whose gradient is zero past the floor."""
    logp, mask = token_logprobs(logits, labels)
    total = (torch.clamp(logp, min=-floor) * mask).sum()
    return total / (normaliser if normaliser is not None else mask.sum().clamp(min=1))


@dataclass
class CappedGAConfig(UnlearnConfig):
    floor: float = field(default=8.0, metadata={"help": "NLL (nats) past which a token is left alone"})

    def __post_init__(self):
        if not (isinstance(self.floor, (int, float)) and self.floor > 0):
            self.reject(("floor", self.floor, "must be a number > 0"))
        super().__post_init__()


class CappedGATrainer(UnlearnTrainer):
    def forget_loss(self, model, forget, retain=None):
        return capped_ga_loss(self.logits(model, forget), forget["labels"], self.unlearn_config.floor,
                              self.normaliser("forget", "targets"))


METHOD = Method("musebench_example_method:CappedGATrainer", "gradient ascent, no push past an NLL floor",
                config=CappedGAConfig)
