"""Evaluation fixtures: the tiny random model, and a copy trained until it memorises the forget docs.

The trained model generates varied, text-like tokens (a random model repeats itself) and gives a known
membership answer: forget texts are members, holdout texts are not.
"""

from __future__ import annotations

import pytest
import torch

from musebench.evaluate import EvalSettings
from musebench.models.loading import load_model

SMALL = EvalSettings(
    verbmem_max_new_tokens=24,
    verbmem_gt_max_tokens=24,
    knowmem_max_new_tokens=12,
    privleak_max_length=64,
    bootstrap_samples=200,
)


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir):
    return load_model(tiny_model_dir)


@pytest.fixture(scope="session")
def memorised_lm(tiny_model_dir, tiny_corpus):
    """The tiny model fine-tuned 60 steps on the forget documents and the forget QA (fp32, CPU, ~2 s)."""
    lm = load_model(tiny_model_dir)
    model, tok = lm.model, lm.tokenizer
    texts = tiny_corpus.forget + [
        f"Question: {p.question}\nAnswer: {p.answer}\n\n" for p in tiny_corpus.knowmem_forget_qa
    ]
    batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    positions = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    for _ in range(60):
        loss = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=positions, labels=labels
        ).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return lm


@pytest.fixture
def small_settings():
    return SMALL
