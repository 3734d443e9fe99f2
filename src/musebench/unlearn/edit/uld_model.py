"""The torch side of ULD (``uld.py``): the assistant's trainer, cutting the target to its first layers, and
the logit-difference wrapper evaluated like any causal LM (WHP's wrapper with ULD's combination)."""

from __future__ import annotations

from torch import nn

from musebench.errors import ModelError
from musebench.unlearn import losses
from musebench.unlearn.edit.whp import WHPModel
from musebench.unlearn.trainer import UnlearnTrainer


class ULDAssistantTrainer(UnlearnTrainer):
    """The reversed objectives: ``NLL(forget) + retain_weight * KL(U || p)(retain)``.

    ``forget_loss`` in the logs is this whole objective; ``retain_loss`` its uniform (flattening) term.
    """

    def forget_loss(self, model, forget, retain=None):
        remember = losses.nll(self.logits(model, forget), forget["labels"], self.normaliser("forget", "targets"))
        flatten = losses.uniform_kl(
            self.logits(model, retain), retain["attention_mask"], self.normaliser("retain", "positions")
        )
        self._record("retain_loss", flatten)
        return remember + self.unlearn_config.retain_weight * flatten


def truncate_layers(model: nn.Module, keep: int) -> nn.Module:
    """Keep the first ``keep`` decoder layers of a causal LM in place (embeddings, final norm, head kept)."""
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if not isinstance(layers, nn.ModuleList):
        raise ModelError(
            f"ULD cuts the target to its first layers, which needs a decoder with a 'model.layers' "
            f"list (Llama, Mistral, Qwen, ...); {type(model).__name__} has none"
        )
    inner.layers = nn.ModuleList(list(layers)[:keep])
    model.config.num_hidden_layers = keep
    if isinstance(getattr(model.config, "layer_types", None), list):
        model.config.layer_types = model.config.layer_types[:keep]
    return model


class ULDModel(WHPModel):
    """Target and assistant behind one causal-LM call: logits ``z_target − α z_assistant``; everything else
    (the pair of KV caches, the evaluation model contract, the engine's decoding) is WHP's wrapper."""

    def __init__(self, target: nn.Module, assistant: nn.Module, alpha: float, top_logit_filter: float = 0.0):
        super().__init__(target, assistant, alpha)
        self.top_logit_filter = float(top_logit_filter)

    @property
    def assistant(self) -> nn.Module:
        return self.finetuned

    def combine(self, z_target, z_assistant):
        return losses.uld_logits(z_target, z_assistant, self.alpha, self.top_logit_filter)
