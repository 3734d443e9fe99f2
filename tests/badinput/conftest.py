"""The intact inputs every bad-input case damages a copy of: a tiny mini corpus, a tiny model, configs."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def pristine(tmp_path_factory):
    """A tiny news-mini corpus, a random 2-layer Llama on its tokenizer, and a second tokenizer's model."""
    import torch

    from musebench.data.synthetic import write_corpus
    from musebench.models.loading import load_tokenizer
    from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
    from musebench.models.tokenizer import train_tokenizer

    root = tmp_path_factory.mktemp("pristine")
    data = write_corpus("news-mini", "tiny", 0, root / "data")
    tok = load_tokenizer(data / "tokenizer")
    spec = TinyLlamaSpec(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
    torch.manual_seed(0)
    model = build_tiny_llama(tok, spec, seed=0)
    model.save_pretrained(root / "model", safe_serialization=True)
    tok.save_pretrained(root / "model")
    other_tok = train_tokenizer(["a completely different text for another vocabulary"] * 4, vocab_size=120)
    other = build_tiny_llama(other_tok, spec, seed=0)
    other.save_pretrained(root / "other", safe_serialization=True)
    other_tok.save_pretrained(root / "other")
    return root
