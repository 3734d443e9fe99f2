"""Fixtures of the unlearn tests: the tiny fixture model trained until it knows the tiny corpus.

``trained_model_dir`` fine-tunes the random 2-layer Llama of ``tests/conftest.py`` with a plain PyTorch
loop (independent of the code under test) on the forget, retain1 and retain2 windows, so there is something to
forget: its forget NLL falls from ~6 nats to well under 1.
"""

from __future__ import annotations

import pytest
import torch

from musebench.unlearn.data import token_windows

MAX_LEN = 32
TARGET_STEPS = 60


def windows_batch(tokenizer, docs, max_len=MAX_LEN, *more_splits):
    """Right-padded ``input_ids``/``attention_mask``/``labels`` of the release-recipe windows of ``docs``
    (and of each further split, windowed on its own)."""
    rows = [w for split in (docs, *more_splits) for w in token_windows(split, tokenizer, max_len)]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask, ids.masked_fill(mask == 0, -100)


@torch.no_grad()
def mean_nll(model, tokenizer, docs) -> float:
    """Mean next-token NLL over every token of the windows of ``docs`` (the Hugging Face loss)."""
    model.eval()
    ids, mask, labels = windows_batch(tokenizer, docs)
    return float(model(input_ids=ids, attention_mask=mask, labels=labels).loss)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory, tiny_model_dir, tiny_corpus, tiny_tokenizer):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    ids, mask, labels = windows_batch(
        tiny_tokenizer, tiny_corpus.forget, MAX_LEN, tiny_corpus.retain1, tiny_corpus.retain2
    )
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(TARGET_STEPS):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    out = tmp_path_factory.mktemp("trained_target")
    model.save_pretrained(out, safe_serialization=True)
    tiny_tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def nll_of(tiny_tokenizer):
    """``nll_of(model_dir, docs)``: mean NLL of a saved model on ``docs``."""
    from transformers import AutoModelForCausalLM

    def measure(model_dir, docs) -> float:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        return mean_nll(model, tiny_tokenizer, docs)

    return measure


@pytest.fixture(scope="session")
def windows_of(tiny_tokenizer):
    """``windows_of(docs)``: the padded windows batch of ``docs`` (input_ids, attention_mask, labels)."""
    return lambda docs: windows_batch(tiny_tokenizer, docs)
