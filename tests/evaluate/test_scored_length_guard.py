"""A scored text longer than a learned position table is one clear error, not an IndexError."""

from __future__ import annotations

import pytest

from musebench.errors import ModelError
from musebench.evaluate.guards import has_learned_positions
from musebench.evaluate.requests import LogprobRequest
from musebench.evaluate.runner import Runner
from musebench.evaluate.settings import EvalSettings
from musebench.models.tiny import build_tiny


def test_learned_positions_are_told_apart_from_rotary(tiny_tokenizer):
    assert has_learned_positions(build_tiny("gpt2", tiny_tokenizer, max_positions=32))
    assert has_learned_positions(build_tiny("opt", tiny_tokenizer, max_positions=32))
    assert not has_learned_positions(build_tiny("llama", tiny_tokenizer, max_positions=32))


def test_text_past_a_learned_position_table_is_one_model_error(tiny_tokenizer, tiny_corpus):
    model = build_tiny("gpt2", tiny_tokenizer, max_positions=16)
    runner = Runner(model, tiny_tokenizer, EvalSettings(batch_size=2))
    long_text = " ".join(tiny_corpus.forget)  # far more than 16 tokens
    with pytest.raises(ModelError, match="context of 16"):
        runner.token_logprobs("privleak_forget", [LogprobRequest(long_text, None)])


def test_rotary_model_scores_a_text_past_its_context_whole(tiny_tokenizer, tiny_corpus):
    model = build_tiny("llama", tiny_tokenizer, max_positions=16)
    runner = Runner(model, tiny_tokenizer, EvalSettings(batch_size=2))
    long_text = " ".join(tiny_corpus.forget)
    out = runner.token_logprobs("privleak_forget", [LogprobRequest(long_text, None)])
    (scored,) = out.values()
    assert len(scored.logprobs) > 16
