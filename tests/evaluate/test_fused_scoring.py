"""The fused, chunked vocabulary pass: same statistics as a full log-softmax, one chunk of logits at a time,
and PrivLeak alone asks for one log-probs-only forward per text."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from musebench.evaluate import engine, evaluate
from musebench.evaluate import scoring as scoring_module
from musebench.evaluate.model_io import ModelCaller
from musebench.evaluate.scoring import score_texts, split_head, token_statistics


class WrappedLogits(torch.nn.Module):
    """Logits that are not head(body(x)): a soft-capped copy, under the evaluation contract."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.config = inner.config

    def forward(self, input_ids, attention_mask, position_ids=None, past_key_values=None, use_cache=False):
        out = self.inner(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids)
        return SimpleNamespace(logits=3.0 * torch.tanh(out.logits / 3.0), past_key_values=None)


def _rows(lm, corpus):
    texts = corpus.privleak_forget[:3] + corpus.privleak_holdout[:2]
    return [list(ids)[:40] for ids in lm.tokenizer(texts)["input_ids"]]


def _full_statistics(model, rows):
    out = []
    with torch.inference_mode():
        for r in rows:
            ids = torch.tensor([r])
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
            out.append([s[0].numpy() for s in token_statistics(logits[:, :-1], ids[:, 1:])])
    return out


def test_chunked_pass_equals_full_log_softmax_with_tiny_chunks(memorised_lm, tiny_corpus, monkeypatch):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    assert split_head(model) is not None  # a plain Llama is scored from its hidden states
    rows = _rows(memorised_lm, tiny_corpus)
    want = _full_statistics(model, rows)
    # 3 positions per chunk: chunks cross row boundaries, and the last one is partial
    monkeypatch.setitem(scoring_module.CHUNK_BYTES, "cpu", 3 * 4 * model.config.vocab_size)
    calls = []
    real_stats = scoring_module.chunk_statistics
    monkeypatch.setattr(
        scoring_module, "chunk_statistics", lambda logits, *a: calls.append(logits.shape[0]) or real_stats(logits, *a)
    )
    got = score_texts(ModelCaller(model), rows, tok.pad_token_id, moments=True)
    assert max(calls) == 3 and sum(calls) == sum(len(r) - 1 for r in rows)  # pads are never reduced
    # float32 over ~10-nat values: chunking reorders the sums, so agreement is to a few ulps, not bit-exact
    for g, (lp, mu, sigma) in zip(got, want):
        np.testing.assert_allclose(g.logprobs, lp, atol=5e-6, rtol=0)
        np.testing.assert_allclose(g.mu, mu, atol=5e-6, rtol=0)
        np.testing.assert_allclose(g.sigma, sigma, atol=5e-6, rtol=0)


def test_models_whose_logits_are_not_head_of_body_are_called_whole(memorised_lm, tiny_corpus):
    wrapped = WrappedLogits(memorised_lm.model)
    assert split_head(wrapped) is None
    rows = _rows(memorised_lm, tiny_corpus)
    got = score_texts(ModelCaller(wrapped), rows, memorised_lm.tokenizer.pad_token_id, moments=False)
    for g, (lp, _, _) in zip(got, _full_statistics(wrapped, rows)):
        assert g.mu is None
        np.testing.assert_allclose(g.logprobs, lp, atol=5e-6, rtol=0)
    assert np.abs(got[0].logprobs - _full_statistics(memorised_lm.model, rows)[0][0]).max() > 1e-2


def test_privleak_alone_is_one_logprobs_only_forward_per_text(tiny_lm, tiny_corpus, small_settings, monkeypatch):
    seen = []
    real = engine.Runner.token_logprobs
    monkeypatch.setattr(
        engine.Runner,
        "token_logprobs",
        lambda self, group, requests: seen.extend(requests) or real(self, group, requests),
    )
    result = evaluate(
        tiny_lm.model, tiny_lm.tokenizer, tiny_corpus, small_settings, metrics=["privleak"], progress=False
    )
    texts = tiny_corpus.privleak_forget + tiny_corpus.privleak_holdout
    assert sorted(r.text for r in seen) == sorted(texts) and not any(r.moments for r in seen)
    assert set(result.privacy["attacks"]) == {"nll", "mink_40"} and result.privacy["suite"] is False
    full = evaluate(tiny_lm.model, tiny_lm.tokenizer, tiny_corpus, small_settings, metrics="all", progress=False)
    assert full.scores["auc"] == result.scores["auc"]  # the suite adds attacks, never changes the headline
    assert {"zlib", "lowercase", "minkpp_40"} <= set(full.privacy["attacks"])
    assert engine.resolve_metrics(tiny_corpus, None) == ["verbmem_f", "knowmem_f", "knowmem_r", "privleak"]
