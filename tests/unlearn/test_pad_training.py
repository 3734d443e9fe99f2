"""Training with a tokenizer that has no pad token: pads never reach the loss, checkpoints keep the vocabulary."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
from musebench.models.tokenizer import train_tokenizer
from musebench.unlearn.api import run_unlearning
from musebench.unlearn.config import config_for
from musebench.unlearn.data import IGNORE_INDEX, PairCollator


def test_collator_masks_pads_by_position_not_by_id():
    eos = 2
    collate = PairCollator(pad_token_id=eos)  # a pad-less tokenizer pads with EOS
    batch = collate([{"forget": [1, 5, eos]}, {"forget": [1, 6, 7, eos, 8]}])
    assert batch["forget_input_ids"].tolist() == [[1, 5, eos, eos, eos], [1, 6, 7, eos, 8]]
    assert batch["forget_attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    # the real EOS of each window keeps its label; only the two pad positions are ignored
    assert batch["forget_labels"].tolist() == [[1, 5, eos, IGNORE_INDEX, IGNORE_INDEX], [1, 6, 7, eos, 8]]


def test_collator_refuses_a_missing_pad_id():
    with pytest.raises(TypeError, match="padding_id"):
        PairCollator(None)


@pytest.fixture(scope="module")
def padless_target(tmp_path_factory, tiny_corpus):
    """A random tiny Llama whose tokenizer has no pad token, not even in its vocabulary (as Llama-2's)."""
    out = tmp_path_factory.mktemp("padless_target")
    texts = tiny_corpus.forget + tiny_corpus.retain1 + tiny_corpus.retain2 + tiny_corpus.holdout
    tok = train_tokenizer(texts * 3, vocab_size=400, pad=False)
    model = build_tiny_llama(tok, TinyLlamaSpec(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64))
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


def _unlearn(model_dir, corpus, out, seed=0):
    config = config_for(
        method="ga_gdr",
        num_train_epochs=1,
        learning_rate=1e-3,
        per_device_train_batch_size=8,
        max_len=24,
        progress=False,
        seed=seed,
    )
    return run_unlearning(model_dir, corpus, config, out)


def test_padless_unlearning_keeps_vocabulary_and_ignores_pad_ids(padless_target, tiny_corpus, tmp_path, monkeypatch):
    vocab = json.loads((padless_target / "config.json").read_text())["vocab_size"]
    first = _unlearn(padless_target, tiny_corpus, tmp_path / "a")
    ckpt = first.checkpoints[-1].path
    assert json.loads((ckpt / "config.json").read_text())["vocab_size"] == vocab
    weights = load_file(ckpt / "model.safetensors")
    assert weights["model.embed_tokens.weight"].shape[0] == vocab
    assert weights["lm_head.weight"].shape[0] == vocab
    assert json.loads((ckpt / "tokenizer_config.json").read_text()).get("pad_token") is None

    # the same run padded with another id gives the same weights, bit for bit: pads never reach the loss
    asked = []
    monkeypatch.setattr("musebench.models.loading.padding_id", lambda tokenizer, model=None: asked.append(1) or 9)
    second = _unlearn(padless_target, tiny_corpus, tmp_path / "b")  # one batch: 5 forget windows, the last 2 long
    assert asked
    again = load_file(second.checkpoints[-1].path / "model.safetensors")
    assert weights.keys() == again.keys()
    assert all(torch.equal(weights[k], again[k]) for k in weights)
    assert any(not torch.equal(weights[k], t) for k, t in load_file(padless_target / "model.safetensors").items())


def test_gradient_accumulation_equals_the_larger_batch(padless_target, tiny_corpus, tmp_path):
    """Batch 1 x 2 accumulation steps = batch 2: the loss is a mean over the whole optimizer step, which the
    Trainer must not divide again (``loss_is_scaled_for_ga``, transformers >= 5.19; the dependency floor)."""
    runs = {}
    for name, batch, accum in (("batch2", 2, 1), ("accum2", 1, 2)):
        config = config_for(
            method="ga_gdr",
            num_train_epochs=1,
            learning_rate=1e-3,
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=accum,
            max_len=24,
            progress=False,
        )
        ckpt = run_unlearning(padless_target, tiny_corpus, config, tmp_path / name).checkpoints[-1].path
        runs[name] = load_file(ckpt / "model.safetensors")
    start = load_file(padless_target / "model.safetensors")
    moved = max((runs["batch2"][k] - start[k]).abs().max().item() for k in start)
    diff = max((runs["batch2"][k] - runs["accum2"][k]).abs().max().item() for k in start)
    assert moved > 1e-4 and diff < 1e-6, (moved, diff)


def test_task_vector_checkpoints_of_a_padless_model_keep_the_vocabulary(padless_target, tiny_corpus, tmp_path):
    """θ_ft and the α model have the target's vocabulary: no pad row is added on either side to be aligned."""
    from musebench.unlearn.edit.task_vector import run_task_vector

    vocab = json.loads((padless_target / "config.json").read_text())["vocab_size"]
    config = config_for(
        method="task_vector",
        num_train_epochs=1,
        learning_rate=1e-3,
        per_device_train_batch_size=8,
        max_len=24,
        alphas=(2.0,),
        progress=False,
    )
    run = run_task_vector(padless_target, tiny_corpus, config, tmp_path / "tv")
    finetuned = next(p for p in (tmp_path / "tv" / "finetuned").iterdir() if p.is_dir())
    for ckpt in (finetuned, run.checkpoint("alpha-2").path):
        weights = load_file(ckpt / "model.safetensors")
        assert weights["model.embed_tokens.weight"].shape[0] == weights["lm_head.weight"].shape[0] == vocab, ckpt
        assert json.loads((ckpt / "config.json").read_text())["vocab_size"] == vocab
