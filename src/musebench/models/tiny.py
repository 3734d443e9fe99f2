"""Tiny Llama-architecture models built from scratch (the family of MUSE's Llama-2 targets)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TinyLlamaSpec:
    """Architecture of a tiny ``LlamaForCausalLM``; defaults give ~0.1M parameters for tests."""

    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 128
    max_position_embeddings: int = 1024
    rope_theta: float = 10000.0


def build_tiny_llama(tokenizer, spec: TinyLlamaSpec | None = None, seed: int = 0):
    """A randomly initialised ``LlamaForCausalLM`` sized for ``tokenizer`` (deterministic for a seed)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    spec = spec or TinyLlamaSpec()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_heads,
        max_position_embeddings=spec.max_position_embeddings,
        rope_theta=spec.rope_theta,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


#: Tiny random models of the architecture families users bring (``model_type`` -> architecture kwargs).
#: Sizes in the generic names (``hidden_size``, ``num_hidden_layers`` ...); GPT-2's config maps them to its
#: own (``n_embd``, ``n_layer`` ...). Mistral and Qwen2 use grouped-query attention, as the real ones do.
TINY_ARCHITECTURES: dict[str, dict] = {
    "gpt2": {"n_inner": 128},
    "llama": {"intermediate_size": 128, "num_key_value_heads": 4},
    "mistral": {"intermediate_size": 128, "num_key_value_heads": 2, "sliding_window": None},
    "qwen2": {"intermediate_size": 128, "num_key_value_heads": 2},
    "gemma": {"intermediate_size": 128, "num_key_value_heads": 1, "head_dim": 16},
    "phi3": {"intermediate_size": 128, "num_key_value_heads": 4},
    "opt": {"ffn_dim": 128, "word_embed_proj_dim": 64, "do_layer_norm_before": True},
}


def build_tiny(
    model_type: str,
    tokenizer,
    vocab_size: int | None = None,
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    max_positions: int = 512,
):
    """A randomly initialised causal LM of ``model_type`` (a key of ``TINY_ARCHITECTURES``), built locally.

    ``vocab_size`` defaults to ``len(tokenizer)``. Special-token ids come from the tokenizer; a pad id the
    model would not embed is left out of the config (``None``), as pad-less checkpoints have it.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if model_type not in TINY_ARCHITECTURES:
        raise ValueError(f"unknown tiny architecture {model_type!r}; choose from {sorted(TINY_ARCHITECTURES)}")
    vocab = vocab_size or len(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None and tokenizer.pad_token_id < vocab else None
    extra = dict(TINY_ARCHITECTURES[model_type])
    if model_type == "opt":
        extra["word_embed_proj_dim"] = hidden_size
    config = AutoConfig.for_model(
        model_type,
        vocab_size=vocab,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=pad,
        tie_word_embeddings=model_type in ("gpt2", "gemma", "opt"),
        **extra,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.pad_token_id = pad
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model
