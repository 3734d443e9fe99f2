"""The pre-allocated KV buffer holds exactly what the dynamic cache would, and decoding gives the same tokens."""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

from musebench.evaluate.generation import eos_ids, greedy_generate
from musebench.evaluate.kv_buffer import PreallocatedLayer, preallocate, preallocate_joined
from musebench.evaluate.model_io import ModelCaller


def _states(batch, length, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 2, length, 4, generator=g), torch.randn(batch, 2, length, 4, generator=g)


def test_buffer_matches_dynamic_layer_through_update_select_repeat_crop():
    dynamic = DynamicLayer()
    k0, v0 = _states(1, 5, 0)
    dynamic.update(k0, v0)
    buffered = PreallocatedLayer(k0, v0, capacity=7)
    buffered.batch_repeat_interleave(3)
    dynamic.batch_repeat_interleave(3)
    for step in range(4):  # the 4th update overflows the capacity of 7 and must grow
        k, v = _states(3 if step < 2 else 2, 1, step + 1)
        if step == 2:
            keep = torch.tensor([0, 2])
            buffered.batch_select_indices(keep)
            dynamic.batch_select_indices(keep)
        got_k, got_v = buffered.update(k, v)
        want_k, want_v = dynamic.update(k, v)
        assert torch.equal(got_k, want_k) and torch.equal(got_v, want_v)
        assert buffered.get_seq_length() == dynamic.get_seq_length() == 6 + step
    buffered.crop(-2)
    dynamic.crop(-2)
    assert torch.equal(buffered.keys, dynamic.keys) and buffered.get_seq_length() == 7


def test_preallocate_swaps_only_plain_dynamic_layers():
    cache = DynamicCache()
    k, v = _states(2, 3, 0)
    cache.update(k, v, 0)
    cache.update(k, v, 1)
    assert all(isinstance(layer, PreallocatedLayer) for layer in preallocate(cache, 8).layers)
    assert cache.layers[0]._key_buffer.shape[-2] == 11
    legacy = ((k, v),)
    assert preallocate(legacy, 8) is legacy  # opaque caches are left alone


def test_decoding_with_the_buffer_gives_the_dynamic_cache_tokens(memorised_lm, tiny_corpus, monkeypatch):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    prompts = [list(tok(r.prompt)["input_ids"]) for r in tiny_corpus.verbmem_forget[:6]]
    caller, eos = ModelCaller(model), eos_ids(model, tok)
    buffered = greedy_generate(caller, prompts, 20, tok.pad_token_id, eos)
    monkeypatch.setattr("musebench.evaluate.generation.preallocate", lambda cache, extra: cache)
    dynamic = greedy_generate(caller, prompts, 20, tok.pad_token_id, eos)
    assert [g.token_ids for g in buffered] == [g.token_ids for g in dynamic]
    assert [g.finish for g in buffered] == [g.finish for g in dynamic]
    assert sum(len(g.token_ids) for g in buffered) > 6  # something was decoded


def test_prefill_in_row_parts_joins_into_the_whole_batch_cache(memorised_lm, tiny_corpus):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    prompts = [list(tok(r.prompt)["input_ids"]) for r in tiny_corpus.verbmem_forget[:5]]
    caller, eos = ModelCaller(model), eos_ids(model, tok)
    width = max(len(p) for p in prompts)
    whole = greedy_generate(caller, prompts, 12, tok.pad_token_id, eos)
    parts = greedy_generate(caller, prompts, 12, tok.pad_token_id, eos, prefill_tokens=2 * width)  # 2 + 2 + 1 rows
    assert [g.token_ids for g in parts] == [g.token_ids for g in whole]
    k0, v0 = _states(2, 3, 0)
    k1, v1 = _states(1, 3, 1)
    caches = []
    for k, v in ((k0, v0), (k1, v1)):
        cache = DynamicCache()
        cache.update(k, v, 0)
        caches.append(cache)
    joined = preallocate_joined(caches, 4)
    assert torch.equal(joined.layers[0].keys, torch.cat([k0, k1])) and joined.layers[0]._key_buffer.shape[-2] == 7
    assert preallocate_joined([((k0, v0),)], 4) is None  # opaque caches cannot be joined
