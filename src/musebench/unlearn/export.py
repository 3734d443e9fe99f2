"""Write the model being trained as a plain Hugging Face directory (safetensors + tokenizer), atomically.

With LoRA the adapter is merged into the base weights in a copy of the state dict (``W + s B A`` per
adapted layer), so every saved epoch is an ordinary model and training continues with the adapter intact.
The state dict comes from ``accelerator.get_state_dict``, which gathers sharded (FSDP / ZeRO-3) weights.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from musebench.io import atomic_directory

PEFT_PREFIX = "base_model.model."


def is_peft_model(model) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "get_base_model")


def merged_lora_state_dict(peft_model, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state dict of the plain model with every LoRA delta folded into its base weight."""
    from peft.tuners.lora import LoraLayer

    adapter = peft_model.active_adapter
    deltas = {}
    for name, module in peft_model.named_modules():
        if isinstance(module, LoraLayer) and adapter in module.lora_A:
            deltas[f"{name}.base_layer.weight"] = module.get_delta_weight(adapter).detach()
    merged = {}
    for key, value in state_dict.items():
        if ".lora_" in key or ".lora_magnitude_vector" in key:
            continue
        if key in deltas:
            value = (value.float() + deltas[key].to(value.device).float()).to(value.dtype)
        plain = key.removeprefix(PEFT_PREFIX).replace(".base_layer.", ".")
        merged[plain] = value
    return merged


def export_model(trainer, tokenizer, path: Path) -> Path | None:
    """Save ``trainer.model`` to ``path`` (main process only; every process must call it)."""
    # the wrapped model: under DeepSpeed only the engine can gather ZeRO-3 partitions (trainer.model is the bare
    # module there); under FSDP and DDP the two are the same model or accelerate unwraps it
    state_dict = trainer.accelerator.get_state_dict(trainer.model_wrapped)
    if not trainer.is_world_process_zero():
        return None
    model = trainer.accelerator.unwrap_model(trainer.model)
    if is_peft_model(model):
        state_dict = merged_lora_state_dict(model, state_dict)
        model = model.get_base_model()
    state_dict = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    with atomic_directory(path) as tmp, quiet_shard_bar():
        model.save_pretrained(tmp, state_dict=state_dict, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return path


@contextlib.contextmanager
def quiet_shard_bar():
    """Hide transformers' "Writing model shards" bar, which would break the training bar at every save."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()
