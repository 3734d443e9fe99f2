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
