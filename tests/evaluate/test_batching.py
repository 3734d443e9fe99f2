"""Batch planning and the bf16 path."""

from __future__ import annotations

import copy

import numpy as np
import torch

from musebench.evaluate import EvalSettings
from musebench.evaluate.batching import ModelShape, plan_batches
from musebench.evaluate.requests import GenerateRequest, LogprobRequest
from musebench.evaluate.runner import Runner


def test_plan_batches_longest_first_and_within_budget():
    lengths = [5, 100, 7, 50]
    assert plan_batches(lengths, batch_size=2, budget_bytes=1e12, bytes_per_token=1) == [[1, 3], [2, 0]]
    # 2 rows x width 100 = 200 <= 250; a third row would make 300
    assert plan_batches(lengths, batch_size=None, budget_bytes=250, bytes_per_token=1) == [[1, 3], [2, 0]]
    assert plan_batches(lengths, batch_size=None, budget_bytes=1, bytes_per_token=1) == [[1], [3], [2], [0]]
    assert plan_batches(lengths, batch_size=None, budget_bytes=1e12, bytes_per_token=1, max_rows=3) == [[1, 3, 2], [0]]
    assert plan_batches([], batch_size=None, budget_bytes=1, bytes_per_token=1) == []


def test_model_shape_reads_config(tiny_lm):
    shape = ModelShape.of(tiny_lm.model, tiny_lm.tokenizer)
    assert (shape.hidden_size, shape.num_layers, shape.dtype_bytes) == (64, 2, 4)
    assert shape.vocab_size == len(tiny_lm.tokenizer)
    assert shape.scoring_bytes_per_token() > shape.vocab_size * 4


def test_bf16_scores_close_to_fp32_and_log_softmax_in_fp32(memorised_lm, tiny_corpus):
    tok = memorised_lm.tokenizer
    bf16 = copy.deepcopy(memorised_lm.model).to(torch.bfloat16)
    requests = [LogprobRequest(t, 64) for t in tiny_corpus.privleak_forget]
    fp32_out = Runner(memorised_lm.model, tok, EvalSettings(), progress=False).token_logprobs("s", requests)
    bf16_out = Runner(bf16, tok, EvalSettings(), progress=False).token_logprobs("s", requests)
    for r in requests:
        assert bf16_out[r.key()].logprobs.dtype == np.float32
        assert np.all(np.isfinite(bf16_out[r.key()].sigma))
        np.testing.assert_allclose(bf16_out[r.key()].logprobs, fp32_out[r.key()].logprobs, atol=0.25)
    gen = Runner(bf16, tok, EvalSettings(), progress=False).generate("g", [GenerateRequest(tiny_corpus.forget[0][:30], 8)])
    assert len(next(iter(gen.values())).token_ids) >= 1
