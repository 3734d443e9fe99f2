"""Tokenizers without a pad token (Llama-2's): the model is left untouched and pads never change a result."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from musebench.evaluate import EvalSettings, evaluate
from musebench.evaluate.fingerprint import model_fingerprint, tokenizer_fingerprint
from musebench.models.loading import embedding_rows, load_model, padding_id
from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
from musebench.models.tokenizer import train_tokenizer

SETTINGS = EvalSettings(
    verbmem_max_new_tokens=8,
    verbmem_gt_max_tokens=8,
    knowmem_max_new_tokens=6,
    privleak_max_length=64,
    bootstrap_samples=20,
)
METRICS = ["verbmem_f", "knowmem_f", "privleak"]


def padless_tokenizer(corpus):
    """A BPE tokenizer with no pad token, not even in its vocabulary (as Llama-2's)."""
    return train_tokenizer(
        (corpus.forget + corpus.retain1 + corpus.retain2 + corpus.holdout) * 3, vocab_size=400, pad=False
    )


@pytest.fixture(scope="module")
def padless_dir(tmp_path_factory, tiny_corpus):
    out = tmp_path_factory.mktemp("padless")
    tok = padless_tokenizer(tiny_corpus)
    assert tok.pad_token is None and "<pad>" not in tok.get_vocab()
    model = build_tiny_llama(tok, TinyLlamaSpec(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64))
    model.config.pad_token_id = None
    model.generation_config.pad_token_id = None
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


def test_padless_tokenizer_gets_no_new_embedding_row(padless_dir):
    vocab = json.loads((padless_dir / "config.json").read_text())["vocab_size"]
    first, second = load_model(padless_dir), load_model(padless_dir)
    assert first.tokenizer.pad_token is None  # the tokenizer is not changed either
    assert len(first.tokenizer) == vocab
    assert embedding_rows(first.model) == vocab
    assert first.model.get_output_embeddings().weight.shape[0] == vocab
    assert model_fingerprint(first.model) == model_fingerprint(second.model)
    assert tokenizer_fingerprint(first.tokenizer) == tokenizer_fingerprint(second.tokenizer)


def test_padding_id_is_an_existing_id(padless_dir, tiny_model_dir):
    padless = load_model(padless_dir)
    assert padding_id(padless.tokenizer, padless.model) == padless.tokenizer.eos_token_id
    with_pad = load_model(tiny_model_dir)
    assert padding_id(with_pad.tokenizer, with_pad.model) == with_pad.tokenizer.pad_token_id


def test_padless_model_evaluates_twice_from_the_cache(padless_dir, tiny_corpus, tmp_path):
    runs = []
    for _ in range(2):  # two separate loads, as two `musebench eval` calls would do
        lm = load_model(padless_dir)
        runs.append(
            evaluate(lm.model, lm.tokenizer, tiny_corpus, SETTINGS, metrics=METRICS, cache_dir=tmp_path, progress=False)
        )
    assert runs[0].provenance["requests_computed"] > 0
    assert runs[1].provenance["requests_computed"] == 0
    assert runs[1].scores == runs[0].scores


def test_pad_id_never_changes_a_result(padless_dir, tiny_corpus, monkeypatch):
    """Batched generation (left pads) and scoring (right pads) give the same bits whatever id fills the pads."""
    lm = load_model(padless_dir)
    vocab = embedding_rows(lm.model)
    results = []
    for pad in (lm.tokenizer.eos_token_id, 7, vocab - 1):
        monkeypatch.setattr("musebench.evaluate.runner.padding_id", lambda tok, model, pad=pad: pad)
        results.append(
            evaluate(
                lm.model,
                lm.tokenizer,
                tiny_corpus,
                dataclasses.replace(SETTINGS, batch_size=8),
                metrics=METRICS,
                progress=False,
            )
        )
    texts = [[row.get("output") for row in r.per_example] for r in results]
    assert texts[0] == texts[1] == texts[2]
    assert results[0].scores == results[1].scores == results[2].scores
    for name in ("verbmem_f", "knowmem_f", "auc"):
        assert results[0].scores[name] is not None and torch.isfinite(torch.tensor(results[0].scores[name]))
