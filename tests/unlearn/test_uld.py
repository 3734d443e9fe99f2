"""ULD (Ji et al. 2024): the assistant's losses by hand, the target cut to its first layers, and a real run:
one small ``uld.json`` per alpha, loaded as a wrapper whose logits are ``z_target - alpha z_assistant``."""

from __future__ import annotations

import json
import math

import pytest
import torch

from musebench.errors import ConfigError, ModelError
from musebench.unlearn import losses


def test_uniform_kl_by_hand_and_its_gradient_flattens():
    flat = torch.zeros(1, 2, 3)
    assert losses.uniform_kl(flat).item() == pytest.approx(0.0, abs=1e-7)
    logits = torch.tensor([[[0.0, math.log(3.0)]]], requires_grad=True)  # p = (1/4, 3/4)
    value = losses.uniform_kl(logits)
    assert value.item() == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), rel=1e-6)
    value.backward()
    assert logits.grad[0, 0, 1] > 0 > logits.grad[0, 0, 0]  # descent lowers the peak and raises the other
    mask = torch.tensor([[1, 0]])
    two = torch.cat([logits.detach(), torch.zeros(1, 1, 2)], dim=1)
    assert losses.uniform_kl(two, mask).item() == pytest.approx(value.item())  # masked positions drop out


def test_uld_logits_by_hand():
    z_t, z_a = torch.tensor([[[2.0, 1.0, 0.0]]]), torch.tensor([[[3.0, 0.0, 0.0]]])
    torch.testing.assert_close(losses.uld_logits(z_t, z_a, 0.5), torch.tensor([[[0.5, 1.0, 0.0]]]))
    flat = torch.full_like(z_a, 7.0)  # a flat assistant changes no probability
    torch.testing.assert_close(torch.softmax(losses.uld_logits(z_t, flat, 2.0), -1), torch.softmax(z_t, -1))


def test_relative_top_filter_keeps_the_assistant_off_implausible_tokens():
    """Ten tokens; the target's top two are plausible (p >= 0.1 x the top's), the rest are not. An assistant
    with strongly negative logits on a junk token pushes it to the top without the filter (the collapse);
    with the reference code's filter it is not subtracted there and the target's plausible choice wins."""
    z_t = torch.tensor([[[3.0, 2.5, 0.0, -5.0, -5.0, -5.0, -5.0, -5.0, -5.0, -5.0]]])
    z_a = torch.tensor([[[4.0, 0.0, -10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]])
    mask = losses.relative_top_mask(z_t, 0.1)
    assert mask[0, 0].tolist() == [False, False] + [True] * 8  # exp(-0.5) >= 0.1 > exp(-3)
    assert int(losses.uld_logits(z_t, z_a, 1.0).argmax()) == 2  # junk: 0 + 10
    filtered = losses.uld_logits(z_t, z_a, 1.0, 0.1)
    assert int(filtered.argmax()) == 1 and filtered[0, 0, 0] == pytest.approx(-1.0)
    torch.testing.assert_close(filtered[0, 0, 2:], z_t[0, 0, 2:])  # implausible tokens: the target's logits
    # at least int(0.1 x vocab) tokens stay plausible: with 100 tokens, the top 10 whatever their share
    wide = torch.cat([torch.tensor([20.0]), -torch.arange(1.0, 100.0)]).view(1, 1, 100)
    assert int((~losses.relative_top_mask(wide, 0.1)).sum()) == 10


def test_uld_and_simnpo_defaults_are_their_authors():
    from musebench.unlearn import METHODS, config_for
    from musebench.unlearn.edit.uld import ULD_ALPHAS

    uld = config_for(method="uld")
    assert uld.alphas == list(ULD_ALPHAS) and max(uld.alphas) <= 1
    assert uld.retain_weight == 5.0 and uld.top_logit_filter == 0.1
    assert config_for(method="uld", alphas=[2.0]).alphas == [2.0]  # an explicit sweep is kept
    assert config_for(method="task_vector").alphas[-1] == 512.0  # the Task Vector / WHP sweep unchanged
    simnpo = config_for(method="simnpo_gdr")
    assert (simnpo.beta, simnpo.alpha) == (0.7, 0.1)
    assert "MUSE" in METHODS["simnpo_gdr"].summary and "TOFU" in METHODS["simnpo"].summary
    with pytest.raises(ConfigError, match="top_logit_filter"):
        config_for(method="uld", top_logit_filter=1.5)


def test_truncate_layers_keeps_embeddings_and_head(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from musebench.unlearn.edit.uld_model import truncate_layers

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    head = model.lm_head.weight.clone()
    truncate_layers(model, 1)
    assert len(model.model.layers) == 1 and model.config.num_hidden_layers == 1
    assert torch.equal(model.lm_head.weight, head)
    assert model(input_ids=torch.tensor([[1, 5, 7]])).logits.shape[-1] == head.shape[0]
    with pytest.raises(ModelError, match="model.layers"):
        truncate_layers(torch.nn.Linear(2, 2), 1)


@pytest.fixture(scope="module")
def uld_run(trained_model_dir, tiny_corpus, tmp_path_factory):
    from musebench.unlearn import config_for, run_unlearning

    config = config_for(
        method="uld",
        num_train_epochs=8,
        learning_rate=3e-3,
        per_device_train_batch_size=2,
        max_len=32,
        alphas=(0.5, 1.0),
        layers=1,
        progress=False,
    )
    return run_unlearning(trained_model_dir, tiny_corpus, config, tmp_path_factory.mktemp("uld"))


def test_run_writes_one_small_checkpoint_per_alpha_and_the_wrapper_lowers_forget(uld_run, tiny_corpus, windows_of):
    from musebench.unlearn import load_unlearned
    from musebench.unlearn.edit.uld_model import ULDModel

    assert [c.label for c in uld_run.checkpoints] == ["alpha-0.5", "alpha-1"]
    assert uld_run.config["layers"] == 1
    assert json.loads((uld_run.out_dir / "run.json").read_text())["status"] == "complete"
    steps = uld_run.history["steps"]
    assert steps[-1]["forget_loss"] < steps[0]["forget_loss"]  # the assistant learns its reversed objective
    nll = {}
    for ckpt in uld_run.checkpoints:
        assert sorted(p.name for p in ckpt.path.iterdir()) == ["uld.json"]
        loaded = load_unlearned(ckpt.path)
        model = loaded.model
        assert isinstance(model, ULDModel) and len(model.assistant.model.layers) == 1
        for split in ("forget", "retain1"):
            ids, mask, labels = windows_of(getattr(tiny_corpus, split))
            with torch.no_grad():
                z_t = model.target(input_ids=ids, attention_mask=mask).logits
                z_a = model.assistant(input_ids=ids, attention_mask=mask).logits
                z = model(input_ids=ids, attention_mask=mask).logits
            assert model.top_logit_filter == 0.1  # the reference code's filter, on by default
            torch.testing.assert_close(z, losses.uld_logits(z_t, z_a, model.alpha, 0.1))
            nll[split, "target"] = float(losses.nll(z_t, labels))
            nll[split, ckpt.label] = float(losses.nll(z, labels))
    # forget NLL rises with alpha, and far more than retain NLL does (the assistant is flatter on retain text;
    # measured: forget 0.08 -> 3.9 nats at alpha 1, retain1 0.11 -> 0.9)
    assert nll["forget", "target"] < nll["forget", "alpha-0.5"] < nll["forget", "alpha-1"]
    rise = {s: nll[s, "alpha-1"] - nll[s, "target"] for s in ("forget", "retain1")}
    assert rise["forget"] > 3 * rise["retain1"] and rise["forget"] > 2.0


def test_engine_decoding_of_uld_equals_greedy_by_definition(uld_run, tiny_tokenizer):
    """ULD decodes through the engine's one path (batched, left-padded, both KV caches); the naive scorer's
    cache-free loop, one full forward per token, gives the same tokens, and they are not the target's."""
    from musebench.evaluate import EvalSettings
    from musebench.evaluate.naive_scorer import naive_generate
    from musebench.evaluate.requests import GenerateRequest
    from musebench.evaluate.runner import Runner
    from musebench.unlearn import load_unlearned

    model = load_unlearned(uld_run.checkpoints[-1].path).model
    prompts = ["Alda Vorn was born in", "Brin", "Cora Lutz worked as a river pilot in"]
    requests = [GenerateRequest(p, 5) for p in prompts]
    out = Runner(model, tiny_tokenizer, EvalSettings(batch_size=3), progress=False).generate("g", requests)
    by_definition = [naive_generate(model, tiny_tokenizer, p, 5) for p in prompts]
    assert [out[r.key()].token_ids for r in requests] == by_definition
    with torch.no_grad():
        plain = [naive_generate(model.target, tiny_tokenizer, p, 5) for p in prompts]
    assert plain != by_definition  # the subtraction changed what the target would say


def test_a_finished_run_resumes_as_it_is_and_bad_input_is_one_error(uld_run, trained_model_dir, tiny_corpus, tmp_path):
    from musebench.unlearn import config_for, run_unlearning
    from musebench.unlearn.edit.uld import read_uld_checkpoint
    from musebench.unlearn.record import read_run

    config = config_for(**{**uld_run.config, "method": "uld"})
    again = run_unlearning(trained_model_dir, tiny_corpus, config, uld_run.out_dir, resume=True)
    assert again.checkpoints == read_run(uld_run.out_dir).checkpoints
    with pytest.raises(ConfigError, match="layers"):
        config_for(method="uld", layers=0)
    with pytest.raises(ConfigError, match="layers"):
        run_unlearning(
            trained_model_dir, tiny_corpus, config_for(method="uld", layers=9, progress=False), tmp_path / "nine"
        )
    with pytest.raises(ConfigError, match="cannot start from a WHP / ULD checkpoint"):
        run_unlearning(uld_run.checkpoints[0].path, tiny_corpus, config, tmp_path / "x")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "uld.json").write_text('{"target": "a", "alpha": 1}')
    with pytest.raises(ModelError, match="missing field.*assistant"):
        read_uld_checkpoint(tmp_path / "bad")


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("bitsandbytes") is None,
    reason="bitsandbytes (musebench[quant]) not installed",
)
def test_the_quantization_attack_quantizes_both_models(uld_run, tiny_tokenizer):
    from musebench.robustness.quantize import load_quantized
    from musebench.unlearn.edit.uld_model import ULDModel

    loaded = load_quantized(uld_run.checkpoints[-1].path, "nf4", "cpu")
    model = loaded.model
    assert isinstance(model, ULDModel) and model.alpha == 1.0
    for half in (model.target, model.assistant):
        assert type(half.model.layers[0].mlp.up_proj).__name__ == "Linear4bit"
    ids = torch.tensor([tiny_tokenizer("Alda Vorn was born in")["input_ids"]])
    with torch.no_grad():
        expected = losses.uld_logits(model.target(input_ids=ids).logits, model.assistant(input_ids=ids).logits, 1.0)
        torch.testing.assert_close(model(input_ids=ids).logits, expected)
