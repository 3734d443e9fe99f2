"""Representation Misdirection for Unlearning (RMU; Li et al. 2024, WMDP §5, Eq. 1-2).

On forget text the output of one decoder layer (``layer``) is pushed towards a fixed random direction
``c u`` (``u`` uniform in [0, 1)^D, normalised; ``c = steering_coeff``), scrambling what later layers
read; on retain text the same activations are held at the frozen start model's values (weight ``alpha``).

As in the reference implementation (WMDP's ``rmu/unlearn.py``: steered layer 7 of Zephyr-7B's 32, trained
``mlp.down_proj`` of layers 5, 6, 7, AdamW lr 5e-5, steering coefficient 6.5, alpha 1200), only the MLP output
projection of the ``train_layers`` layers ending at ``layer`` is trained by default
(``params: reference``); ``params: layers`` trains every parameter of those layers. Everything else is frozen, so under DDP every trainable parameter is used and
``find_unused_parameters`` can stay off. The loss is WMDP's mean squared error, averaged over the hidden size
and the real (unpadded) positions. The layers above the
steered one are taken out of the model for the forward pass, so they cost nothing. (Stopping the forward
with an exception instead would also skip DDP's post-forward step, which arms the gradient all-reduce: each
process would then step with its own gradients.)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch

from musebench.errors import ConfigError
from musebench.unlearn import losses
from musebench.unlearn.config import UnlearnConfig, check_integer, check_number
from musebench.unlearn.trainer import UnlearnTrainer


def _layers_and_owner(model) -> tuple[torch.nn.Module, str, torch.nn.ModuleList]:
    n = model.config.num_hidden_layers
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            owner_name, _, attribute = name.rpartition(".")
            return model.get_submodule(owner_name), attribute, module
    raise ConfigError("cannot find the decoder layers of this model for RMU", field="layer")


def decoder_layers(model) -> torch.nn.ModuleList:
    """The ModuleList of decoder layers (``model.model.layers`` for Llama; found by size otherwise)."""
    return _layers_and_owner(model)[2]


@contextlib.contextmanager
def only_layers_up_to(model, index: int):
    """Within the block the model has only decoder layers ``0..index`` (the same modules)."""
    owner, attribute, layers = _layers_and_owner(model)
    setattr(owner, attribute, torch.nn.ModuleList(list(layers)[: index + 1]))
    try:
        yield
    finally:
        setattr(owner, attribute, layers)


#: The MLP output projection's name inside a decoder layer: Llama, Mistral, Qwen2, Gemma, Phi-3 (``mlp.down_proj``),
#: GPT-2 (``mlp.c_proj``), OPT (``fc2``), GPT-NeoX / Pythia (``mlp.dense_4h_to_h``).
MLP_OUTPUT_NAMES = ("mlp.down_proj", "mlp.c_proj", "fc2", "mlp.dense_4h_to_h")


PARAMS = ("reference", "layers")


@dataclass
class RMUConfig(UnlearnConfig):
    """RMU as WMDP's reference code runs it: lr 5e-5, retain weight 1200, steering coefficient 6.5."""

    learning_rate: float = field(default=5e-5, metadata={"help": "AdamW learning rate (WMDP's 5e-5)"})
    alpha: float = field(default=1200.0, metadata={"help": "weight of the retain activation term (WMDP's 1200)"})
    layer: int | None = field(
        default=None,
        metadata={
            "help": "decoder layer whose output is steered (default: num_layers * 7 // 32 as layer 7 of 32 in WMDP, "
            "but at least layer 2, or the last layer of a smaller model, so small models are not steered at "
            "layer 0)"
        },
    )
    steering_coeff: float = field(
        default=6.5, metadata={"help": "norm of the random control vector (6.5 with alpha 1200: WMDP's Zephyr-7B run)"}
    )
    train_layers: int = field(
        default=3, metadata={"help": "train the last N layers up to --layer (WMDP: l-2, l-1, l); others frozen"}
    )
    params: str = field(
        default="reference",
        metadata={
            "help": "what trains in those layers: reference = only the MLP output projection (mlp.down_proj), as "
            "WMDP's code; layers = every parameter of those layers"
        },
    )

    def __post_init__(self):
        self.reject(
            check_integer(self, "layer", 0, optional=True),
            check_number(self, "steering_coeff", 0),
            check_integer(self, "train_layers", 1),
            None if self.params in PARAMS else ("params", self.params, f"choose one of {', '.join(PARAMS)}"),
        )
        super().__post_init__()


def default_layer(num_layers: int) -> int:
    """WMDP steers layer 7 of 32; the same proportion, but never below layer 2 (the last layer of a model with
    fewer than 3), so a small model is not steered at its first layer and three layers can train."""
    return max(num_layers * 7 // 32, min(2, num_layers - 1))


def resolve_layer(config, num_layers: int) -> int:
    layer = config.layer if config.layer is not None else default_layer(num_layers)
    if layer >= num_layers:
        raise ConfigError(f"the model has {num_layers} layers (0..{num_layers - 1})", field="layer", value=layer)
    return layer


def _accepts(model, argument: str) -> bool:
    import inspect

    forward = model.get_base_model().forward if hasattr(model, "get_base_model") else model.forward
    return argument in inspect.signature(forward).parameters


def layer_output(model, batch: dict, layers: torch.nn.ModuleList, index: int, base=None) -> torch.Tensor:
    """Hidden states ``[B, T, D]`` leaving decoder layer ``index``; the layers above it are not run.

    ``model`` may be a DDP / accelerate wrapper of ``base`` (the plain model whose layers are cut)."""
    captured = {}

    def hook(module, args, output):
        captured["h"] = output[0] if isinstance(output, tuple) else output

    base = base if base is not None else model
    extra = {"logits_to_keep": 1} if _accepts(base, "logits_to_keep") else {}  # no [B, T, V] logits
    handle = layers[index].register_forward_hook(hook)
    try:
        with only_layers_up_to(base, index):
            model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False, **extra)
    finally:
        handle.remove()
    return captured["h"]


def trainable_prefixes(
    layers: torch.nn.ModuleList, first: int, last: int, params: str, layers_name: str
) -> tuple[str, ...]:
    """Name prefixes of the parameters RMU trains: every parameter of layers ``first..last`` (``layers``) or
    only their MLP output projection (``reference``). ``layers_name`` is the layer list's own name in the model
    (``model.layers``)."""
    if params == "layers":
        return tuple(f"{layers_name}.{i}." for i in range(first, last + 1))
    names = {name for name, _ in layers[last].named_modules()}
    proj = next((n for n in MLP_OUTPUT_NAMES if n in names), None)
    if proj is None:
        raise ConfigError(
            f"cannot find the MLP output projection ({', '.join(MLP_OUTPUT_NAMES)}) of this model's "
            "decoder layers; use params: layers",
            field="params",
            value=params,
        )
    return tuple(f"{layers_name}.{i}.{proj}." for i in range(first, last + 1))


def layers_name(model) -> str:
    """The dotted name of the decoder layer list in ``model`` (``model.layers`` for Llama)."""
    layers = decoder_layers(model)
    return next(name for name, module in model.named_modules() if module is layers)


class RMUTrainer(UnlearnTrainer):
    """Loss ``||h_f - c u||^2 + alpha ||h_r - h_r_frozen||^2`` at one layer (``losses.rmu_loss``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        base = self.accelerator.unwrap_model(self.model)
        self.layers = decoder_layers(base)
        self.layer = resolve_layer(self.unlearn_config, len(self.layers))
        first = max(0, self.layer - self.unlearn_config.train_layers + 1)
        trainable = trainable_prefixes(self.layers, first, self.layer, self.unlearn_config.params, layers_name(base))
        for name, param in base.named_parameters():
            if param.requires_grad and not any(t in name for t in trainable):
                param.requires_grad_(False)
        if not any(p.requires_grad for p in base.parameters()):
            raise ConfigError(
                f"no trainable parameter left for RMU (layers {first}..{self.layer}, "
                f"params {self.unlearn_config.params})",
                field="params",
            )
        hidden = base.config.hidden_size
        generator = torch.Generator().manual_seed(self.unlearn_config.seed)
        u = torch.rand(hidden, generator=generator)
        self.control_vec = (self.unlearn_config.steering_coeff * u / u.norm()).to(self.args.device)

    def frozen_layers(self, model) -> torch.nn.ModuleList:
        if self.reference is None:
            return self.layers  # LoRA: the same modules, adapter switched off
        return decoder_layers(self.accelerator.unwrap_model(self.reference))

    def forget_loss(self, model, forget, retain=None):
        base = self.accelerator.unwrap_model(model)
        h_forget = layer_output(model, forget, self.layers, self.layer, base)
        h_retain = layer_output(model, retain, self.layers, self.layer, base)
        with torch.no_grad(), self.reference_context(model):
            reference = self.reference_model(model)
            h_frozen = layer_output(
                reference, retain, self.frozen_layers(model), self.layer, self.accelerator.unwrap_model(reference)
            )
        total, forget_term, retain_term = losses.rmu_loss(
            h_forget,
            self.control_vec.to(h_forget.dtype),
            h_retain,
            h_frozen,
            self.unlearn_config.alpha,
            forget_mask=forget["attention_mask"],
            retain_mask=retain["attention_mask"],
            forget_normaliser=self.normaliser("forget", "positions"),
            retain_normaliser=self.normaliser("retain", "positions"),
        )
        self._record("rmu_forget", forget_term)
        self._record("rmu_retain", retain_term)
        return total
