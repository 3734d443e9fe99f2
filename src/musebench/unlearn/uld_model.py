"""The torch side of ULD (``uld.py``): the assistant's trainer, cutting the target to its first layers, and
the logit-difference wrapper evaluated like any causal LM (WHP's wrapper with ULD's combination)."""

from __future__ import annotations

from torch import nn

from musebench.errors import ModelError
from musebench.unlearn import losses
from musebench.unlearn.trainer import UnlearnTrainer
from musebench.unlearn.whp import PairCache, WHPModel, WHPOutput, _returned_cache


class ULDAssistantTrainer(UnlearnTrainer):
    """The reversed objectives: ``NLL(forget) + uld_retain_weight * KL(U || p)(retain)``.

    ``forget_loss`` in the logs is this whole objective; ``retain_loss`` its uniform (flattening) term.
    """

    def forget_loss(self, model, forget, retain=None):
        remember = losses.nll(self.logits(model, forget), forget["labels"], self.normaliser("forget", "targets"))
        flatten = losses.uniform_kl(self.logits(model, retain), retain["attention_mask"],
                                    self.normaliser("retain", "positions"))
        self._record("retain_loss", flatten)
        return remember + self.unlearn_config.uld_retain_weight * flatten


def truncate_layers(model: nn.Module, keep: int) -> nn.Module:
    """Keep the first ``keep`` decoder layers of a causal LM in place (embeddings, final norm, head kept)."""
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if not isinstance(layers, nn.ModuleList):
        raise ModelError(f"ULD cuts the target to its first layers, which needs a decoder with a 'model.layers' "
                         f"list (Llama, Mistral, Qwen, ...); {type(model).__name__} has none")
    inner.layers = nn.ModuleList(list(layers)[:keep])
    model.config.num_hidden_layers = keep
    if isinstance(getattr(model.config, "layer_types", None), list):
        model.config.layer_types = model.config.layer_types[:keep]
    return model


class ULDModel(WHPModel):
    """Target and assistant behind one causal-LM call: logits ``z_target − α z_assistant``, the pair of KV
    caches as WHP's (so ``generate`` and the engine's decoding run unchanged)."""

    @property
    def assistant(self) -> nn.Module:
        return self.finetuned

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                use_cache=None, cache=None, logits_to_keep: int = 0, **kwargs) -> WHPOutput:
        past = past_key_values if past_key_values is not None else cache
        past_target, past_assistant = past if past is not None else (None, None)
        common = dict(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                      use_cache=use_cache, **kwargs)
        if logits_to_keep:
            common["logits_to_keep"] = logits_to_keep
        out_t = self.target(**{self._cache_arg: past_target}, **common)
        out_a = self.finetuned(**{self._cache_arg: past_assistant}, **common)
        logits = losses.uld_logits(out_t.logits, out_a.logits, self.alpha)
        past = PairCache(_returned_cache(out_t), _returned_cache(out_a)) if use_cache else None
        return WHPOutput(logits=logits, past_key_values=past)
