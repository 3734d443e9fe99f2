"""KnowMem's prompt ending: faithful by default, an explicit recorded setting without the trailing space, and a
note when a tokenizer turns that space into a lone token."""

from __future__ import annotations

import pytest

from musebench.data import QAPair
from musebench.errors import ConfigError
from musebench.evaluate import EvalSettings, evaluate
from musebench.evaluate.tasks import knowmem_prompt, knowmem_requests, trailing_space_is_lone_token
from musebench.models.tokenizer import train_tokenizer

SHOTS = [QAPair("Where was Ada born?", "Kestrel")]


def test_the_faithful_prompt_is_the_default_and_the_other_drops_only_the_last_space():
    faithful = knowmem_prompt("Where was Bo born?", SHOTS)
    assert faithful == "Question: Where was Ada born?\nAnswer: Kestrel\n\nQuestion: Where was Bo born?\nAnswer: "
    assert knowmem_prompt("Where was Bo born?", SHOTS, "no_trailing_space") == faithful[:-1]
    assert EvalSettings().knowmem_prompt == "faithful"
    reqs = knowmem_requests(
        [QAPair("Where was Bo born?", "X")], SHOTS, EvalSettings(knowmem_prompt="no_trailing_space")
    )
    assert reqs[0].prompt.endswith("Answer:")


def test_an_unknown_ending_is_a_config_error_and_the_default_keeps_cache_keys():
    with pytest.raises(ConfigError, match="knowmem_prompt"):
        EvalSettings(knowmem_prompt="none")
    assert "knowmem_prompt" not in EvalSettings().scoring_key()
    assert EvalSettings(knowmem_prompt="no_trailing_space").scoring_key()["knowmem_prompt"] == "no_trailing_space"


def test_lone_space_detection(tiny_tokenizer, tiny_corpus):
    texts = tiny_corpus.forget + tiny_corpus.retain2 + [knowmem_prompt("Where was Bo born?", SHOTS) + "Vale"]
    # the usual byte-level split leaves a final space alone; the mini corpora's tokenizer attaches it to ": "
    assert trailing_space_is_lone_token(tiny_tokenizer)
    assert not trailing_space_is_lone_token(train_tokenizer(texts * 3, vocab_size=400, trailing_space=True))


def test_the_summary_flags_a_lone_space_and_records_the_setting(tiny_model_dir, tiny_corpus):
    from musebench.models.loading import load_model

    loaded = load_model(tiny_model_dir)
    base = dict(knowmem_max_new_tokens=2, knowmem_num_shots=1, bootstrap_samples=0, batch_size=2)
    faithful = evaluate(
        loaded.model, loaded.tokenizer, tiny_corpus, EvalSettings(**base), metrics=["knowmem_f"], progress=False
    )
    assert faithful.provenance["knowmem_prompt"] == {"setting": "faithful", "lone_space_token": True}
    assert [n for n in faithful.notes if n.startswith("KnowMem prompt:")]
    other = evaluate(
        loaded.model,
        loaded.tokenizer,
        tiny_corpus,
        EvalSettings(**base, knowmem_prompt="no_trailing_space"),
        metrics=["knowmem_f"],
        progress=False,
    )
    assert other.provenance["knowmem_prompt"]["setting"] == "no_trailing_space"
    assert other.provenance["settings"]["knowmem_prompt"] == "no_trailing_space"
    assert not [n for n in other.notes if n.startswith("KnowMem prompt:")]
