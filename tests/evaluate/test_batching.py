"""Batch planning and the bf16 path."""

from __future__ import annotations

import copy
from types import SimpleNamespace

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
    # a token cap of 150 padded tokens: 2 x 100 is over it, 3 x 50 is not; a row wider than the cap runs alone
    assert plan_batches(lengths, batch_size=None, budget_bytes=1e12, bytes_per_token=1, max_tokens=150) == [
        [1],
        [3, 2, 0],
    ]
    assert plan_batches([300], batch_size=None, budget_bytes=1e12, bytes_per_token=1, max_tokens=150) == [[0]]


def test_cpu_forwards_keep_the_widest_layer_tensor_under_the_heap_ceiling():
    from musebench.evaluate.batching import CPU_LAYER_TENSOR_BYTES

    shape = ModelShape(vocab_size=32000, hidden_size=256, num_layers=4, dtype_bytes=4, intermediate_size=688)
    tokens = shape.cpu_batch_tokens()
    assert tokens * 688 * 4 <= CPU_LAYER_TENSOR_BYTES < (tokens + 1) * 688 * 4
    assert 5 * 2048 <= tokens < 6 * 2048  # MUSE's 2,048-token privacy texts: 5 per scoring batch
    assert ModelShape(32000, 4096, 32, 2, intermediate_size=11008).cpu_batch_tokens() == 1524


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
    gen = Runner(bf16, tok, EvalSettings(), progress=False).generate(
        "g", [GenerateRequest(tiny_corpus.forget[0][:30], 8)]
    )
    assert len(next(iter(gen.values())).token_ids) >= 1


def test_budget_is_a_share_of_free_memory_unless_fixed(monkeypatch):
    from musebench.evaluate import batching

    monkeypatch.setattr(batching, "free_memory_bytes", lambda device: 10e9)
    assert batching.memory_budget_bytes(torch.device("cpu"), None) == 10e9 * batching.FREE_MEMORY_SHARE["cpu"]
    assert batching.memory_budget_bytes(torch.device("cpu"), 1.5) == 1.5e9
    monkeypatch.setattr(batching, "free_memory_bytes", lambda device: None)
    assert batching.memory_budget_bytes(torch.device("cpu"), None) == 2e9
    assert batching.free_memory_bytes.__module__  # the real reader exists; on Linux it reads MemAvailable


def test_model_shape_costs_follow_grouped_kv_heads_and_the_fused_head():
    from transformers import LlamaConfig

    config = LlamaConfig(
        vocab_size=32000,
        hidden_size=4096,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        intermediate_size=11008,
    )
    model = SimpleNamespace(config=config, parameters=lambda: iter([torch.zeros(1, dtype=torch.bfloat16)]))
    shape = ModelShape.of(model, [0] * 32000)
    assert shape.kv_size == 8 * 128 and shape.dtype_bytes == 2
    assert shape.generation_bytes_per_token() == 2 * 32 * 1024 * 2 + shape.activation_bytes_per_token()
    # the fused pass never holds a token's logits; a model called whole does (in fp32)
    assert shape.scoring_bytes_per_token(whole_logits=True) - shape.scoring_bytes_per_token() == 32000 * 4

    # 2,048-token texts of the 7B shape: 64 rows fit 80 GB free; the old fixed 2 GB allowed 8
    def first_batch(budget):
        return plan_batches(
            [2048] * 64,
            batch_size=None,
            budget_bytes=budget,
            bytes_per_token=shape.scoring_bytes_per_token(),
            bytes_per_batch=shape.scoring_bytes_per_batch(64),
        )[0]

    assert first_batch(80e9) == list(range(64)) and len(first_batch(2e9)) == 8
