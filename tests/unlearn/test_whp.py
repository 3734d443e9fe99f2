"""WHP: the logit formula by hand, the wrapper against its two models, KV-cache decoding, checkpoints."""

from __future__ import annotations

import json

import pytest
import torch

from musebench.errors import ModelError
from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
from musebench.unlearn.edit.whp import WHPModel, load_whp, read_whp_checkpoint, whp_logits, write_whp_checkpoint

SPEC = TinyLlamaSpec(hidden_size=64, num_layers=2, num_heads=4, intermediate_size=128)


@pytest.fixture(scope="module")
def pair(tiny_tokenizer):
    """Two different random tiny Llamas standing in for target and fine-tuned model."""
    return (
        build_tiny_llama(tiny_tokenizer, SPEC, seed=0).eval(),
        build_tiny_llama(tiny_tokenizer, SPEC, seed=1).eval(),
    )


@pytest.fixture(scope="module")
def finetuned_dir(tmp_path_factory, tiny_tokenizer):
    out = tmp_path_factory.mktemp("whp_ft")
    build_tiny_llama(tiny_tokenizer, SPEC, seed=1).save_pretrained(out, safe_serialization=True)
    tiny_tokenizer.save_pretrained(out)
    return out


def test_whp_logits_by_hand():
    # z_ft - z_t = [1, -1, 0.5] -> ReLU [1, 0, 0.5]; alpha 2 -> z_t - [2, 0, 1] = [-1, 2, 2]
    z_t = torch.tensor([1.0, 2.0, 3.0])
    z_f = torch.tensor([2.0, 1.0, 3.5])
    assert torch.equal(whp_logits(z_t, z_f, 2.0), torch.tensor([-1.0, 2.0, 2.0]))
    assert torch.equal(whp_logits(z_t, z_f, 0.0), z_t)  # alpha 0 is the target


def test_wrapper_logits_follow_formula(pair, tiny_tokenizer):
    target, finetuned = pair
    batch = tiny_tokenizer(["Alda Vorn was born in", "Brin"], return_tensors="pt", padding=True)
    with torch.no_grad():
        z_t = target(**batch).logits
        z_f = finetuned(**batch).logits
        out = WHPModel(target, finetuned, alpha=4.0)(**batch)
    expected = z_t - 4.0 * torch.clamp(z_f - z_t, min=0)
    assert out.logits.shape == (2, batch["input_ids"].shape[1], len(tiny_tokenizer))
    torch.testing.assert_close(out.logits, expected, rtol=0, atol=1e-6)
    # the edit is real: somewhere the fine-tuned model is more confident, so the logits moved down
    assert (out.logits < z_t - 1e-3).any()


def test_incremental_decoding_with_cache_matches_full_forward(pair, tiny_tokenizer):
    """Left-padded batch: prompt, then three tokens one at a time through the pair of caches."""
    model = WHPModel(*pair, alpha=2.0)
    batch = tiny_tokenizer(["Cora Lutz worked as a river", "Dario"], return_tensors="pt", padding=True)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    extra = torch.tensor([[5, 17, 42], [9, 33, 7]])
    full_ids = torch.cat([ids, extra], dim=1)
    full_mask = torch.cat([mask, torch.ones_like(extra)], dim=1)
    full_pos = (full_mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        full = model(input_ids=full_ids, attention_mask=full_mask, position_ids=full_pos).logits
        n = ids.shape[1]
        out = model(input_ids=ids, attention_mask=mask, position_ids=full_pos[:, :n], use_cache=True)
        assert len(out.past_key_values) == 2 and all(c is not None for c in out.past_key_values)
        steps = [out.logits[:, -1]]
        past = out.past_key_values
        for j in range(extra.shape[1]):
            out = model(
                input_ids=extra[:, j : j + 1],
                attention_mask=full_mask[:, : n + j + 1],
                position_ids=full_pos[:, n + j : n + j + 1],
                past_key_values=past,
                use_cache=True,
            )
            past = out.past_key_values
            steps.append(out.logits[:, -1])
    incremental = torch.stack(steps, dim=1)
    torch.testing.assert_close(incremental, full[:, n - 1 :], rtol=1e-4, atol=1e-4)


def test_cache_rows_can_be_dropped_and_repeated(pair, tiny_tokenizer):
    """The generation loop's batch operations act on both halves of the pair cache."""
    model = WHPModel(*pair, alpha=2.0)
    batch = tiny_tokenizer(["Alda Vorn was", "Brin Osmund was"], return_tensors="pt", padding=True)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    nxt = torch.tensor([[11], [12]])
    with torch.no_grad():
        full = model(
            input_ids=torch.cat([ids, nxt], 1),
            attention_mask=torch.cat([mask, mask[:, :1]], 1),
            position_ids=torch.cat([pos, pos[:, -1:] + 1], 1),
        ).logits[:, -1]
        cache = model(
            input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1
        ).past_key_values
        cache.batch_select_indices(torch.tensor([1]))  # keep the second row only
        assert cache.get_seq_length() == ids.shape[1]
        row = model(
            input_ids=nxt[1:],
            attention_mask=torch.cat([mask[1:], mask[1:, :1]], 1),
            position_ids=pos[1:, -1:] + 1,
            past_key_values=cache,
            use_cache=True,
        )
        torch.testing.assert_close(row.logits[:, -1], full[1:], rtol=1e-4, atol=1e-4)
        one = tiny_tokenizer(["Alda Vorn was"], return_tensors="pt")
        prefix = model(**one, use_cache=True, logits_to_keep=1)
        assert prefix.logits.shape[1] == 1  # only the last position was projected to the vocabulary
        shared = prefix.past_key_values
        shared.batch_repeat_interleave(3)
        assert all(c.layers[0].keys.shape[0] == 3 for c in shared)


def test_engine_decoding_of_whp_equals_greedy_by_definition(pair, tiny_tokenizer):
    """WHP's one decoding path is the engine's (batched, left-padded, both KV caches, finished rows dropped);
    the naive scorer decodes a wrapper without a cache, one full forward per token: the two agree."""
    import copy

    from musebench.evaluate import EvalSettings
    from musebench.evaluate.naive_scorer import naive_generate
    from musebench.evaluate.requests import GenerateRequest
    from musebench.evaluate.runner import Runner

    target = pair[0]
    finetuned = copy.deepcopy(target)  # logits 2 z_t: WHP's z_t - 8 ReLU(z_t) moves the argmax off the target's
    with torch.no_grad():
        finetuned.lm_head.weight.mul_(2.0)
    model = WHPModel(target, finetuned, alpha=8.0)
    assert not hasattr(model, "generate")  # no decoding loop of its own
    prompts = ["Esme Tarrow was", "Brin", "Alda Vorn was born in the north of"]
    requests = [GenerateRequest(p, 6) for p in prompts]
    out = Runner(model, tiny_tokenizer, EvalSettings(batch_size=3), progress=False).generate("g", requests)
    by_definition = [naive_generate(model, tiny_tokenizer, p, 6) for p in prompts]
    assert [out[r.key()].token_ids for r in requests] == by_definition
    assert len({tuple(t) for t in by_definition}) == 3  # the prompts really decode differently
    with torch.no_grad():  # and the wrapper's tokens are not the target's: WHP changed the argmax somewhere
        plain = [naive_generate(pair[0], tiny_tokenizer, p, 6) for p in prompts]
    assert plain != by_definition


def test_checkpoint_roundtrip_and_load(tmp_path, tiny_model_dir, finetuned_dir, tiny_tokenizer):
    ckpt = write_whp_checkpoint(tmp_path / "run" / "alpha-4", tiny_model_dir, finetuned_dir, 4)
    spec = json.loads((ckpt / "whp.json").read_text())
    assert spec["alpha"] == 4.0 and not spec["target"].startswith("/")  # relative: the run dir can move
    target_path, finetuned_path, alpha = read_whp_checkpoint(ckpt)
    assert alpha == 4.0
    loaded = load_whp(ckpt, device="cpu")
    assert isinstance(loaded.model, WHPModel) and loaded.model.alpha == 4.0
    assert loaded.tokenizer.pad_token_id != loaded.tokenizer.eos_token_id
    batch = tiny_tokenizer(["Faro Quist"], return_tensors="pt")
    with torch.no_grad():
        z_t = loaded.model.target(**batch).logits
        z_f = loaded.model.finetuned(**batch).logits
        torch.testing.assert_close(loaded.model(**batch).logits, whp_logits(z_t, z_f, 4.0))
    assert not torch.allclose(z_t, z_f)  # really two different models behind it


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"target": "a", "finetuned": "b"}', "missing field"),
        ('{"target": "a", "finetuned": "b", "alpha": -1}', "alpha must be"),
        ('{"target": "", "finetuned": "b", "alpha": 1}', "non-empty"),
        ("[1, 2", "invalid JSON"),
    ],
)
def test_bad_checkpoint_is_a_model_error(tmp_path, content, message):
    (tmp_path / "whp.json").write_text(content)
    with pytest.raises(ModelError, match=message):
        read_whp_checkpoint(tmp_path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(ModelError, match="whp.json is missing"):
        load_whp(tmp_path)


def test_run_whp_writes_one_small_checkpoint_per_alpha(tmp_path, trained_model_dir, tiny_corpus, tiny_tokenizer):
    """WHP from the fixture model trained on the tiny corpus (tests/unlearn/conftest.py)."""
    from musebench.unlearn.api import load_unlearned
    from musebench.unlearn.config import config_for
    from musebench.unlearn.edit.whp import run_whp
    from musebench.unlearn.losses import nll
    from musebench.unlearn.record import read_run

    config = config_for(
        method="whp",
        num_train_epochs=2,
        learning_rate=1e-3,
        per_device_train_batch_size=2,
        max_len=24,
        alphas=(1.0, 8.0),
        use_cpu=True,
        progress=False,
    )
    run = run_whp(trained_model_dir, tiny_corpus, config, tmp_path / "whp")
    assert [c.label for c in run.checkpoints] == ["alpha-1", "alpha-8"]
    assert read_run(run.out_dir).status == "complete"
    for ckpt in run.checkpoints:
        assert sorted(p.name for p in ckpt.path.iterdir()) == ["whp.json"]  # no weights copied per alpha
    batch = tiny_tokenizer(tiny_corpus.forget, return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    forget_nll = {}
    for ckpt in run.checkpoints:
        loaded = load_unlearned(ckpt.path)
        assert isinstance(loaded.model, WHPModel) and loaded.model.alpha == float(ckpt.label[6:])
        with torch.no_grad():
            z_t = loaded.model.target(**batch).logits
            z_f = loaded.model.finetuned(**batch).logits
            z = loaded.model(**batch).logits
        torch.testing.assert_close(z, whp_logits(z_t, z_f, loaded.model.alpha))
        assert (z <= z_t + 1e-6).all() and (z < z_t - 1e-3).any()  # WHP only ever lowers logits
        forget_nll["target"], forget_nll["finetuned"] = float(nll(z_t, labels)), float(nll(z_f, labels))
        forget_nll[ckpt.label] = float(nll(z, labels))
    # the fine-tuned model knows the forget text better; WHP pushes the target away from it, more at alpha 8
    assert forget_nll["finetuned"] < forget_nll["target"] < forget_nll["alpha-1"] < forget_nll["alpha-8"]


def test_whp_cannot_start_from_a_whp_checkpoint(tmp_path, tiny_model_dir, finetuned_dir, tiny_corpus):
    from musebench.errors import ConfigError
    from musebench.unlearn.config import config_for
    from musebench.unlearn.edit.whp import run_whp

    ckpt = write_whp_checkpoint(tmp_path / "alpha-2", tiny_model_dir, finetuned_dir, 2.0)
    with pytest.raises(ConfigError, match="cannot start from a WHP checkpoint"):
        run_whp(ckpt, tiny_corpus, config_for(method="whp", use_cpu=True), tmp_path / "next")
