"""Deviations from the original scorer that were removed, each pinned: whole privacy texts, KnowMem shots."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from musebench.data import MissingDataWarning, QAPair
from musebench.evaluate import EvalSettings, evaluate
from musebench.evaluate.naive_scorer import naive_attacks

FAST = {"bootstrap_samples": 0, "verbmem_max_new_tokens": 4, "verbmem_gt_max_tokens": 4, "knowmem_max_new_tokens": 4}


@pytest.fixture(scope="module")
def long_text_corpus(tiny_corpus, tiny_tokenizer):
    """PrivLeak splits whose first forget text is longer than the 2,048 tokens texts used to be cut to."""
    text, n = "", 0
    while n <= 2100:
        text = "\n\n".join(filter(None, [text, *tiny_corpus.forget, *tiny_corpus.retain2]))
        n = len(tiny_tokenizer(text)["input_ids"])
    return dataclasses.replace(tiny_corpus, privleak_forget=[text] + tiny_corpus.privleak_forget[1:]), n


def privleak_row(result, split="forget", index=0):
    return next(
        r for r in result.per_example if r["criterion"] == "privleak" and r["split"] == split and r["index"] == index
    )


def test_long_privacy_text_is_scored_whole_by_default(tiny_lm, long_text_corpus):
    corpus, n_tokens = long_text_corpus
    result = evaluate(
        tiny_lm.model, tiny_lm.tokenizer, corpus, EvalSettings(**FAST), metrics=["privacy"], progress=False
    )
    row = privleak_row(result)
    assert row["n_tokens"] == n_tokens > 2048
    whole = naive_attacks(tiny_lm.model, tiny_lm.tokenizer, corpus.privleak_forget[0])
    cut = naive_attacks(tiny_lm.model, tiny_lm.tokenizer, corpus.privleak_forget[0], max_length=2048)
    assert whole["n_tokens"] == n_tokens and cut["n_tokens"] == 2048
    for attack in ("nll", "lowercase", "mink_40"):
        assert row["scores"][attack] == pytest.approx(whole["scores"][attack], rel=1e-5), attack
    assert row["scores"]["mink_40"] != pytest.approx(cut["scores"]["mink_40"], rel=1e-5)  # the cut is visible
    assert result.provenance["privleak_length"] == {"max_length": None, "texts_cut": 0, "texts": 6}
    assert not any("privleak_max_length" in note for note in result.notes)


def test_a_length_limit_is_applied_and_recorded(tiny_lm, long_text_corpus):
    corpus, n_tokens = long_text_corpus
    settings = EvalSettings(**FAST, privleak_max_length=2048)
    result = evaluate(tiny_lm.model, tiny_lm.tokenizer, corpus, settings, metrics=["privleak"], progress=False)
    row = privleak_row(result)
    assert row["n_tokens"] == 2048
    cut = naive_attacks(tiny_lm.model, tiny_lm.tokenizer, corpus.privleak_forget[0], max_length=2048)
    assert row["scores"]["mink_40"] == pytest.approx(cut["scores"]["mink_40"], rel=1e-5)
    rule = result.provenance["privleak_length"]
    assert rule == {"max_length": 2048, "texts_cut": 1, "texts": 4, "longest_tokens": n_tokens}
    assert any("cut to 2048 tokens (privleak_max_length): 1 of 4 texts" in note for note in result.notes)
    suite = evaluate(tiny_lm.model, tiny_lm.tokenizer, corpus, settings, metrics=["privacy"], progress=False)
    assert suite.provenance["privleak_length"]["lowercase_twins_cut"] == 1  # the twin is scored, and cut, too
    assert result.provenance["settings"]["privleak_max_length"] == 2048


def test_privleak_max_length_rejects_nonsense():
    from musebench.errors import ConfigError

    for bad in (0, 1, -5, 2.5):
        with pytest.raises(ConfigError, match="privleak_max_length"):
            EvalSettings(privleak_max_length=bad)
    assert EvalSettings().privleak_max_length is None


def knowmem_run(tiny_lm, corpus, **settings):
    return evaluate(
        tiny_lm.model,
        tiny_lm.tokenizer,
        corpus,
        EvalSettings(**FAST, **settings),
        metrics=["knowmem_f", "knowmem_r"],
        progress=False,
    )


def test_knowmem_records_the_shots_it_used(tiny_lm, tiny_corpus):
    shots = [QAPair(f"Question {i}?", f"Answer {i}") for i in range(3)]
    corpus = dataclasses.replace(tiny_corpus, knowmem_forget_qa_icl=shots, knowmem_retain_qa_icl=shots)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingDataWarning)  # enough shots: no warning
        result = knowmem_run(tiny_lm, corpus, knowmem_num_shots=2)
    assert result.provenance["knowmem_shots"]["knowmem_f"] == {
        "used": 2,
        "requested": 2,
        "available": 3,
        "file": "knowmem/forget_qa_icl.json",
    }
    assert result.provenance["knowmem_shots"]["knowmem_r"]["used"] == 2
    every = knowmem_run(tiny_lm, corpus, knowmem_num_shots=None)
    assert every.provenance["knowmem_shots"]["knowmem_r"]["used"] == 3
    assert not [n for n in every.notes if not n.startswith("KnowMem prompt:")]  # no note about shots


def test_short_icl_file_warns_naming_file_and_criterion(tiny_lm, tiny_corpus):
    shots = [QAPair("Where?", "Here")]
    corpus = dataclasses.replace(tiny_corpus, knowmem_forget_qa_icl=shots, knowmem_retain_qa_icl=shots * 10)
    with pytest.warns(MissingDataWarning) as record:
        result = knowmem_run(tiny_lm, corpus, knowmem_num_shots=10)
    messages = [str(w.message) for w in record]
    assert len(messages) == 1
    assert "fixture/knowmem/forget_qa_icl.json" in messages[0] and "knowmem_f" in messages[0]
    assert "1-shot" in messages[0] and "C2" in messages[0]
    assert result.provenance["knowmem_shots"]["knowmem_f"]["used"] == 1
    assert result.provenance["knowmem_shots"]["knowmem_r"]["used"] == 10
    assert any("forget_qa_icl.json" in note for note in result.notes)


def test_missing_icl_file_is_never_a_silent_zero_shot_score(tiny_lm, tiny_corpus):
    corpus = dataclasses.replace(tiny_corpus, knowmem_retain_qa_icl=[])
    with pytest.warns(MissingDataWarning, match=r"retain_qa_icl\.json: missing or empty.*knowmem_r.*0-shot.*C4"):
        result = knowmem_run(tiny_lm, corpus, knowmem_num_shots=None)
    assert result.provenance["knowmem_shots"]["knowmem_r"]["used"] == 0
    assert any("0-shot" in note for note in result.notes)
    with warnings.catch_warnings():  # zero shots asked for is the user's choice, not a defect of the data
        warnings.simplefilter("error", MissingDataWarning)
        assert knowmem_run(tiny_lm, corpus, knowmem_num_shots=0).provenance["knowmem_shots"]["knowmem_r"]["used"] == 0
