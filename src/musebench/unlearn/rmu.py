"""Representation Misdirection for Unlearning (RMU; Li et al. 2024, WMDP §5, Eq. 1-2).

On forget text the output of one decoder layer (``rmu_layer``) is pushed towards a fixed random direction
``c u`` (``u`` uniform in [0, 1)^D, normalised; ``c = rmu_steering_coeff``), scrambling what later layers
read; on retain text the same activations are held at the frozen start model's values (weight ``alpha``).
Only the ``rmu_train_layers`` layers ending at ``rmu_layer`` are trained. The forward pass stops after the
steered layer, so the layers above it cost nothing.
"""

from __future__ import annotations

import torch

from musebench.errors import ConfigError
from musebench.unlearn import losses
from musebench.unlearn.trainer import UnlearnTrainer


class _StopForward(Exception):
    pass


def decoder_layers(model) -> torch.nn.ModuleList:
    """The ModuleList of decoder layers (``model.model.layers`` for Llama; found by size otherwise)."""
    n = model.config.num_hidden_layers
    for _, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            return module
    raise ConfigError("cannot find the decoder layers of this model for RMU", field="rmu_layer")


def resolve_layer(config, num_layers: int) -> int:
    layer = config.rmu_layer if config.rmu_layer is not None else num_layers * 7 // 32
    if layer >= num_layers:
        raise ConfigError(f"the model has {num_layers} layers (0..{num_layers - 1})", field="rmu_layer", value=layer)
    return layer


def layer_output(model, batch: dict, layers: torch.nn.ModuleList, index: int) -> torch.Tensor:
    """Hidden states ``[B, T, D]`` leaving decoder layer ``index``; the layers above it are not run."""
    captured = {}

    def hook(module, args, output):
        captured["h"] = output[0] if isinstance(output, tuple) else output
        raise _StopForward

    handle = layers[index].register_forward_hook(hook)
    try:
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)
    except _StopForward:
        pass
    finally:
        handle.remove()
    return captured["h"]


class RMUTrainer(UnlearnTrainer):
    """Loss ``||h_f - c u||^2 + alpha ||h_r - h_r_frozen||^2`` at one layer (``losses.rmu_loss``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        base = self.accelerator.unwrap_model(self.model)
        self.layers = decoder_layers(base)
        self.layer = resolve_layer(self.unlearn_config, len(self.layers))
        first = max(0, self.layer - self.unlearn_config.rmu_train_layers + 1)
        trainable = tuple(f"layers.{i}." for i in range(first, self.layer + 1))
        for name, param in base.named_parameters():
            if param.requires_grad and not any(t in name for t in trainable):
                param.requires_grad_(False)
        hidden = base.config.hidden_size
        generator = torch.Generator().manual_seed(self.unlearn_config.seed)
        u = torch.rand(hidden, generator=generator)
        self.control_vec = (self.unlearn_config.rmu_steering_coeff * u / u.norm()).to(self.args.device)

    def frozen_layers(self, model) -> torch.nn.ModuleList:
        if self.reference is None:
            return self.layers  # LoRA: the same modules, adapter switched off
        return decoder_layers(self.accelerator.unwrap_model(self.reference))

    def forget_loss(self, model, forget, retain=None):
        h_forget = layer_output(model, forget, self.layers, self.layer)
        h_retain = layer_output(model, retain, self.layers, self.layer)
        with torch.no_grad(), self.reference_context(model):
            h_frozen = layer_output(self.reference_model(model), retain, self.frozen_layers(model), self.layer)
        total, forget_term, retain_term = losses.rmu_loss(
            h_forget, self.control_vec.to(h_forget.dtype), h_retain, h_frozen, self.unlearn_config.alpha,
            forget_mask=forget["attention_mask"], retain_mask=retain["attention_mask"])
        self._record("rmu_forget", forget_term)
        self._record("rmu_retain", retain_term)
        return total
