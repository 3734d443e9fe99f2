"""The fast path computes exactly what the naive scorer computes (fp32, tiny Llama).

The naive scorer (``evaluate/naive_scorer.py``) shares no code with the engine and follows the original MUSE
scorer's algorithm; ``test_golden.py`` checks both against the original's own outputs.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from musebench.evaluate import EvalSettings, evaluate
from musebench.evaluate.generation import greedy_generate, left_pad
from musebench.evaluate.model_io import ModelCaller, left_padded_positions
from musebench.evaluate.naive_scorer import naive_evaluate, naive_generate, naive_token_logprobs
from musebench.evaluate.requests import GenerateRequest, LogprobRequest
from musebench.evaluate.runner import Runner, encode
from musebench.evaluate.settings import KNOWMEM_CUTS
from musebench.evaluate.stopping import StopMatcher
from musebench.evaluate.tasks import knowmem_prompt


def prompts_of(corpus):
    """Prompts of very different lengths: left padding really happens."""
    docs = corpus.forget + corpus.retain2 + corpus.holdout
    return [d[:n] for d, n in zip(docs, (12, 40, 75, 20, 140, 33))]


class OpaqueCacheModel(torch.nn.Module):
    """A wrapper under the evaluation contract whose cache cannot be narrowed (finished rows are masked)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.config = inner.config

    def forward(self, input_ids, attention_mask, position_ids, past_key_values=None, use_cache=True):
        cache = past_key_values.value if past_key_values is not None else None
        out = self.inner(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            use_cache=use_cache,
        )
        return SimpleNamespace(logits=out.logits, past_key_values=SimpleNamespace(value=out.cache))


@pytest.mark.parametrize("batch_size", [2, 8])
def test_batched_generation_equals_batch_one_and_hf_generate(memorised_lm, tiny_corpus, batch_size):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    requests = [GenerateRequest(p, 20) for p in prompts_of(tiny_corpus)]
    one = Runner(model, tok, EvalSettings(batch_size=1), progress=False).generate("g", requests)
    many = Runner(model, tok, EvalSettings(batch_size=batch_size), progress=False).generate("g", requests)
    for r in requests:
        assert many[r.key()].token_ids == one[r.key()].token_ids
        assert one[r.key()].token_ids == naive_generate(model, tok, r.prompt, 20)
    assert len({tuple(g.token_ids) for g in one.values()}) > 3  # varied outputs, not one repeated string


def test_opaque_cache_wrapper_generates_the_same_tokens(memorised_lm, tiny_corpus):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    prompts = encode(tok, prompts_of(tiny_corpus))
    eos = {tok.eos_token_id}
    plain = greedy_generate(ModelCaller(model), prompts, 16, tok.pad_token_id, eos)
    caller = ModelCaller(OpaqueCacheModel(model))
    assert caller.cache_kwarg == "past_key_values"
    wrapped = greedy_generate(caller, prompts, 16, tok.pad_token_id, eos)
    assert [g.token_ids for g in wrapped] == [g.token_ids for g in plain]


def test_left_padding_positions_give_unpadded_logprobs(memorised_lm, tiny_corpus):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    short, long = encode(tok, [tiny_corpus.forget[0][:30], tiny_corpus.holdout[0]])
    ids, mask = left_pad([short, long], tok.pad_token_id, "cpu")
    with torch.no_grad():
        padded = model(input_ids=ids, attention_mask=mask, position_ids=left_padded_positions(mask)).logits
        alone = model(input_ids=torch.tensor([short])).logits
    pad = ids.shape[1] - len(short)
    got = torch.log_softmax(padded[0, pad:], -1)
    want = torch.log_softmax(alone[0], -1)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    # not vacuous: if the pads were attended to, the row's log-probs would change
    with torch.no_grad():
        leaky = model(
            input_ids=ids, attention_mask=torch.ones_like(mask), position_ids=left_padded_positions(mask)
        ).logits
    assert (torch.log_softmax(leaky[0, pad:], -1) - want).abs().max() > 1e-3


def test_batched_scoring_equals_one_token_at_a_time(memorised_lm, tiny_corpus):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    texts = tiny_corpus.privleak_forget + tiny_corpus.privleak_holdout + [t.lower() for t in tiny_corpus.forget]
    requests = [LogprobRequest(t, 64) for t in texts]
    batched = Runner(model, tok, EvalSettings(batch_size=8), progress=False).token_logprobs("s", requests)
    single = Runner(model, tok, EvalSettings(batch_size=1), progress=False).token_logprobs("s", requests)
    for r in requests:
        want = naive_token_logprobs(model, tok, r.text, 64)
        np.testing.assert_allclose(batched[r.key()].logprobs, want, atol=1e-5, rtol=0)
        np.testing.assert_allclose(batched[r.key()].logprobs, single[r.key()].logprobs, atol=1e-5, rtol=0)
        np.testing.assert_allclose(batched[r.key()].sigma, single[r.key()].sigma, atol=1e-5, rtol=0)


def test_stop_strings_checked_on_token_ids(tiny_tokenizer):
    matcher = StopMatcher(tiny_tokenizer, KNOWMEM_CUTS)
    ids = tiny_tokenizer("Kestrel Bay\n\nQuestion", add_special_tokens=False)["input_ids"]
    newline = [i for i in range(len(tiny_tokenizer)) if "\n" in tiny_tokenizer.decode([i])]
    assert newline and all(matcher.is_candidate(newline))
    plain = tiny_tokenizer("Kestrel", add_special_tokens=False)["input_ids"]
    assert matcher.candidates(torch.tensor([plain[0], newline[0]])).tolist() == [False, True]
    assert len(matcher.known) < len(tiny_tokenizer)  # learnt per generated id, not for the whole vocabulary
    hits = [matcher.hit(ids[: j + 1]) for j in range(len(ids))]
    first = hits.index(True)
    assert "\n\n" in tiny_tokenizer.decode(ids[: first + 1]) and "\n\n" not in tiny_tokenizer.decode(ids[:first])


def test_full_evaluation_equals_naive_scorer(memorised_lm, tiny_corpus, small_settings):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    fast = evaluate(model, tok, tiny_corpus, small_settings, metrics="all", progress=False)
    slow = naive_evaluate(model, tok, tiny_corpus, small_settings)
    for crit in ("verbmem_f", "knowmem_f", "knowmem_r"):
        outputs = [r["output"] for r in fast.per_example if r["criterion"] == crit]
        assert outputs == slow["outputs"][crit]
        assert fast.scores[crit] == slow["scores"][crit]
    assert fast.scores["verbmem_f"] > 30  # the memorised model continues its forget texts
    assert fast.scores["auc"] == slow["scores"]["auc"]
    for row in (r for r in fast.per_example if r["criterion"] == "privleak"):
        want = slow["privacy"][row["split"]][row["index"]]["scores"]
        assert row["n_tokens"] == slow["privacy"][row["split"]][row["index"]]["n_tokens"]
        assert set(row["scores"]) == set(want)
        for attack, value in want.items():
            assert row["scores"][attack] == pytest.approx(value, abs=2e-5), attack


def test_knowmem_prompt_format():
    from musebench.data import QAPair

    shots = [QAPair("Q1?", "A1"), QAPair("Q2?", "A2")]
    assert (
        knowmem_prompt("Q?", shots)
        == "Question: Q1?\nAnswer: A1\n\nQuestion: Q2?\nAnswer: A2\n\nQuestion: Q?\nAnswer: "
    )


def test_shared_fewshot_prefix_gives_the_same_tokens(memorised_lm, tiny_corpus):
    from musebench.evaluate.generation import MIN_SHARED_PREFIX, common_prefix_length, prefill_prefix

    model, tok = memorised_lm.model, memorised_lm.tokenizer
    shots = tiny_corpus.knowmem_retain_qa + tiny_corpus.knowmem_forget_qa_icl
    questions = ["Where was Alda Vorn born?", "Who", "Where was Brin Osmund born? Tell me the town, please."]
    prompts = encode(tok, [knowmem_prompt(q, shots) for q in questions])
    shared = common_prefix_length(prompts)
    assert shared >= MIN_SHARED_PREFIX and all(len(p) > shared for p in prompts)
    caller, eos = ModelCaller(model), {tok.eos_token_id}
    prefix = prefill_prefix(caller, prompts[0][:shared])
    assert prefix is not None
    with_prefix = greedy_generate(caller, prompts, 12, tok.pad_token_id, eos, prefix=prefix)
    again = greedy_generate(caller, prompts, 12, tok.pad_token_id, eos, prefix=prefix)  # prefix cache untouched
    plain = [greedy_generate(caller, [p], 12, tok.pad_token_id, eos)[0] for p in prompts]
    assert [g.token_ids for g in with_prefix] == [g.token_ids for g in plain] == [g.token_ids for g in again]
    assert common_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2  # each row keeps >= 1 token of its own


def test_naive_scorer_shares_no_code_with_the_engine():
    """The oracle's only musebench import is the settings type it reads: its rules are its own."""
    import ast
    from pathlib import Path

    import musebench.evaluate.naive_scorer as oracle

    tree = ast.parse(Path(oracle.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {m for m in imported if m and m.startswith("musebench")} == {"musebench.evaluate.settings"}


def test_mink_count_equals_the_original_float_product():
    """metrics.mink_count's claim: int(n * K / 100) in integers = the original's int(n * ratio) for every n
    up to 20,000 and K in 5..60 (then at least 1, where the original averages nothing)."""
    from musebench.evaluate.metrics import mink_count

    for k, ratio in ((5, 0.05), (10, 0.1), (20, 0.2), (30, 0.3), (40, 0.4), (50, 0.5), (60, 0.6)):
        assert all(mink_count(n, float(k)) == max(1, int(n * ratio)) for n in range(1, 20001)), k
