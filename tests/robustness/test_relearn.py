"""Relearning: a few steps of fine-tuning lower the loss on what is relearned (direction, not just change)."""

from __future__ import annotations

import pytest
import torch

from musebench.errors import ConfigError
from musebench.robustness import RelearnBudget
from musebench.robustness.relearn import relearn_in_memory


def _nll(model, tokenizer, texts) -> float:
    ids = tokenizer(list(texts), return_tensors="pt", padding=True)
    labels = ids["input_ids"].masked_fill(ids["attention_mask"] == 0, -100)
    with torch.no_grad():
        return model(**ids, labels=labels).loss.item()


def test_relearning_lowers_the_loss_on_the_slice(tiny_model_dir, tiny_corpus, tmp_path):
    from musebench.models.loading import load_model

    loaded = load_model(tiny_model_dir)
    slice_ = tiny_corpus.forget[:1]
    before = _nll(loaded.model, loaded.tokenizer, slice_)
    losses = relearn_in_memory(
        loaded.model,
        loaded.tokenizer,
        slice_,
        RelearnBudget(steps=6, learning_rate=5e-3, batch_size=2),
        "cpu",
        tmp_path,
    )
    assert len(losses) == 6
    assert _nll(loaded.model, loaded.tokenizer, slice_) < before - 0.5
    assert not loaded.model.training
    assert not any(tmp_path.iterdir())  # nothing written: the model is evaluated where it is


@pytest.mark.parametrize(
    "field, kwargs",
    [
        ("--steps", {"steps": 0}),
        ("--learning-rate", {"learning_rate": 0.0}),
        ("--learning-rate", {"learning_rate": 2.0}),
        ("--batch-size", {"batch_size": 0}),
    ],
)
def test_a_bad_budget_names_the_flag(field, kwargs):
    with pytest.raises(ConfigError) as err:
        RelearnBudget(**kwargs)
    assert err.value.field == field
