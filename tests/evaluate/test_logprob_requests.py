"""Log-probs-only requests (lower-cased and reference-model texts) skip Min-K%++'s moments, nothing else."""

from __future__ import annotations

import numpy as np

from musebench.evaluate import EvalSettings
from musebench.evaluate.cache import ResultCache
from musebench.evaluate.requests import LogprobRequest, TokenLogprobs
from musebench.evaluate.runner import Runner


def test_nll_only_requests_give_the_same_logprobs_without_moments(memorised_lm, tiny_corpus):
    lm = memorised_lm
    texts = tiny_corpus.privleak_forget[:3] + [t.lower() for t in tiny_corpus.privleak_holdout[:3]]
    full = Runner(lm.model, lm.tokenizer, EvalSettings(), progress=False).token_logprobs(
        "s", [LogprobRequest(t, 64) for t in texts]
    )
    runner = Runner(lm.model, lm.tokenizer, EvalSettings(), progress=False)
    bare = runner.token_logprobs("s", [LogprobRequest(t, 64, moments=False) for t in texts])
    assert runner.computed == len(texts)
    for t in texts:
        a, b = full[LogprobRequest(t, 64).key()], bare[LogprobRequest(t, 64, moments=False).key()]
        assert a.has_moments and not b.has_moments and b.mu is None and b.sigma is None
        np.testing.assert_array_equal(a.logprobs, b.logprobs)  # the same log-softmax and gather


def test_a_text_asked_both_ways_runs_once_and_both_keys_answer(memorised_lm, tiny_corpus):
    lm = memorised_lm
    text = tiny_corpus.privleak_forget[0]
    with_moments, nll_only = LogprobRequest(text, 64), LogprobRequest(text, 64, moments=False)
    assert with_moments.key() != nll_only.key()
    runner = Runner(lm.model, lm.tokenizer, EvalSettings(), progress=False)
    out = runner.token_logprobs("s", [with_moments, nll_only])
    assert runner.computed == 1
    assert out[nll_only.key()] is out[with_moments.key()] and out[nll_only.key()].has_moments


def test_nll_only_results_round_trip_through_the_cache(memorised_lm, tiny_corpus, tmp_path):
    lm = memorised_lm
    requests = [LogprobRequest(t, 64, moments=False) for t in tiny_corpus.privleak_holdout[:2]]
    first = Runner(lm.model, lm.tokenizer, EvalSettings(), ResultCache(tmp_path, {"m": 1}), progress=False)
    computed = first.token_logprobs("s", requests)
    again = Runner(lm.model, lm.tokenizer, EvalSettings(), ResultCache(tmp_path, {"m": 1}), progress=False)
    cached = again.token_logprobs("s", requests)
    assert again.computed == 0
    for r in requests:
        assert isinstance(cached[r.key()], TokenLogprobs) and not cached[r.key()].has_moments
        np.testing.assert_array_equal(cached[r.key()].logprobs, computed[r.key()].logprobs)
