"""The batched engine against Hugging Face at batch 1, on a tiny random model of every family users bring.

Each model is built locally from a config (nothing downloaded) and saved as a Hugging Face directory with
the project's tiny BPE tokenizer, pad-less as Llama-2's; GPT-2 / OPT and Qwen2 use their families' tokenizer
classes. Qwen2's class brings its own pad token, ``<|endoftext|>``, one id beyond the checkpoint's embedding
matrix: the case that ended in an ``IndexError``. The engine must give the same greedy tokens as
``model.generate`` (one prompt at a time) and the same per-token log-probs as one plain forward per text,
with rows of different lengths padded in one batch and prompts sharing a prefix (the KnowMem shape).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from musebench.evaluate.generation import MIN_SHARED_PREFIX, common_prefix_length
from musebench.evaluate.requests import GenerateRequest, LogprobRequest
from musebench.evaluate.runner import Runner, encode
from musebench.evaluate.settings import EvalSettings
from musebench.models.loading import embedding_rows, load_model, padding_id
from musebench.models.tiny import TINY_ARCHITECTURES, build_tiny
from musebench.models.tokenizer import train_tokenizer

TOKENIZER_CLASS = {"gpt2": "GPT2Tokenizer", "opt": "GPT2Tokenizer", "qwen2": "Qwen2Tokenizer"}
MAX_NEW = 10
SHOTS = "Question: Where was Alda Vorn born?\nAnswer: Kestrel Bay\n\nQuestion: Where was Brin Osmund born?\n"


def prompt_groups(corpus) -> list[list[str]]:
    """Prompts of different lengths (padded in one batch), and prompts with a long shared prefix (prefilled once)."""
    docs = corpus.forget + corpus.retain2 + corpus.holdout
    distinct = [d[:n] for d, n in zip(docs, (12, 30, 47, 21, 64))]
    shared = [
        SHOTS + f"Answer: {a}\n\nQuestion: Where was {b} born?\nAnswer:"
        for a, b in (("Tallowmere", "Cora Lutz"), ("Emberfield", "Esme Tarrow"), ("Nettle", "Faro Quist"))
    ]
    return [distinct, shared]


@pytest.fixture(scope="module")
def padless_tokenizer(tiny_corpus):
    texts = tiny_corpus.forget + tiny_corpus.retain1 + tiny_corpus.retain2 + tiny_corpus.holdout
    return train_tokenizer(texts * 3, vocab_size=400, pad=False)


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory, padless_tokenizer):
    """The project's tiny tokenizer trained without a pad token (BOS added, no pad: as Llama-2's)."""
    out = tmp_path_factory.mktemp("padless_tokenizer")
    padless_tokenizer.save_pretrained(out)
    return out


def model_dir(model_type, tokenizer_dir, base_vocab, out):
    from transformers import AutoTokenizer

    for f in tokenizer_dir.iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    config = json.loads((out / "tokenizer_config.json").read_text())
    config.pop("pad_token", None)  # no pad entry at all: a tokenizer class may then bring its own
    if model_type in TOKENIZER_CLASS:
        config["tokenizer_class"] = TOKENIZER_CLASS[model_type]
    (out / "tokenizer_config.json").write_text(json.dumps(config))
    tok = AutoTokenizer.from_pretrained(out)
    build_tiny(model_type, tok, vocab_size=base_vocab).save_pretrained(out, safe_serialization=True)
    return out


@torch.inference_mode()
def hf_greedy(model, tokenizer, prompt: str, eos: list[int], pad: int) -> list[int]:
    ids = torch.tensor([encode(tokenizer, [prompt])[0]])
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=MAX_NEW,
        do_sample=False,
        num_beams=1,
        eos_token_id=eos,
        pad_token_id=pad,
    )
    return out[0, ids.shape[1] :].tolist()


@torch.inference_mode()
def hf_token_statistics(model, tokenizer, text: str):
    ids = torch.tensor([encode(tokenizer, [text])[0]])
    logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
    target = logp.gather(-1, ids[0, 1:, None]).squeeze(-1)
    mu = (logp.exp() * logp).sum(-1)
    sigma = (logp.exp() * (logp - mu[:, None]) ** 2).sum(-1).sqrt()
    return target.numpy(), mu.numpy(), sigma.numpy()


@pytest.mark.parametrize("model_type", sorted(TINY_ARCHITECTURES))
def test_batched_engine_matches_hf_at_batch_one(model_type, tokenizer_dir, padless_tokenizer, tiny_corpus, tmp_path):
    base_vocab = len(padless_tokenizer)
    lm = load_model(model_dir(model_type, tokenizer_dir, base_vocab, tmp_path))
    model, tok = lm.model, lm.tokenizer
    assert embedding_rows(model) == base_vocab  # loading added no row
    pad = padding_id(tok, model)
    assert 0 <= pad < base_vocab
    if model_type == "qwen2":  # the tokenizer's own pad lies outside the embedding: padded with EOS instead
        assert tok.pad_token_id >= base_vocab and pad == tok.eos_token_id

    runner = Runner(model, tok, EvalSettings(batch_size=4), progress=False)
    eos = sorted(runner.eos)
    distinct, shared = prompt_groups(tiny_corpus)
    assert common_prefix_length(encode(tok, shared)) >= MIN_SHARED_PREFIX > common_prefix_length(encode(tok, distinct))
    for group in (distinct, shared):
        generated = runner.generate("g", [GenerateRequest(p, MAX_NEW) for p in group])
        for p in group:
            assert generated[GenerateRequest(p, MAX_NEW).key()].token_ids == hf_greedy(model, tok, p, eos, pad), p

    docs = tiny_corpus.forget + tiny_corpus.retain2 + tiny_corpus.holdout
    scored = runner.token_logprobs("s", [LogprobRequest(d, 512) for d in docs])
    for d in docs:
        got = scored[LogprobRequest(d, 512).key()]
        for ours, theirs in zip((got.logprobs, got.mu, got.sigma), hf_token_statistics(model, tok, d)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
