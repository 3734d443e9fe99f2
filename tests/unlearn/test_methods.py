"""Each method moves the tiny trained model in the right direction; outputs are plain models + run.json.

The target (``trained_model_dir``) knows the tiny corpus (forget NLL ~0.08 nats). Six epochs at lr 1e-3
take GA / NPO to a forget NLL of several nats and drag retain1 with them; the GDR / KLR variants raise
forget NLL as well but keep retain1 NLL several times lower (measured: GA 6.8 vs GA_GDR 0.4 nats).
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from musebench.errors import ConfigError, DataError, TrainingError
from musebench.unlearn import METHODS, UnlearnConfig, config_for, load_unlearned, run_unlearning

SETTINGS = {
    "num_train_epochs": 6,
    "learning_rate": 1e-3,
    "per_device_train_batch_size": 2,
    "max_len": 32,
    "progress": False,
}


@pytest.fixture(scope="module")
def unlearned(trained_model_dir, tiny_corpus, tmp_path_factory, nll_of):
    """``unlearned(method, **overrides)`` -> (run, forget NLL, retain1 NLL) of the last epoch; cached."""
    cache = {}

    def run(method, **overrides):
        key = (method, tuple(sorted(overrides.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(method)
            result = run_unlearning(
                trained_model_dir, tiny_corpus, config_for(method=method, **{**SETTINGS, **overrides}), out
            )
            last = result.checkpoints[-1].path
            cache[key] = (result, nll_of(last, tiny_corpus.forget), nll_of(last, tiny_corpus.retain1))
        return cache[key]

    return run


@pytest.fixture(scope="module")
def before(trained_model_dir, tiny_corpus, nll_of):
    return nll_of(trained_model_dir, tiny_corpus.forget), nll_of(trained_model_dir, tiny_corpus.retain1)


@pytest.mark.parametrize("method", ["ga", "npo"])
def test_forget_only_methods_raise_forget_nll(unlearned, before, method):
    _, forget, retain = unlearned(method)
    assert before[0] < 0.2
    assert forget > before[0] + 3.0
    assert retain > before[1] + 1.0  # with nothing holding it, retain knowledge goes too


@pytest.mark.parametrize("method,alone", [("ga_gdr", "ga"), ("ga_klr", "ga"), ("npo_gdr", "npo"), ("npo_klr", "npo")])
def test_retain_terms_keep_retain_nll(unlearned, before, method, alone):
    _, forget, retain = unlearned(method)
    _, _, retain_alone = unlearned(alone)
    assert forget > before[0] + 2.0
    assert retain < before[1] + 1.0  # the forget-only run loses more than 1 nat (the test above)
    assert retain < retain_alone / 4


def test_npo_first_step_costs_two_over_beta_log_two(unlearned):
    """At step 0 the model is its reference: every example costs (2/beta) log 2 = 13.8629 for beta 0.1."""
    run, _, _ = unlearned("npo")
    assert run.config["beta"] == 0.1
    assert run.history["steps"][0]["forget_loss"] == pytest.approx(20 * math.log(2), abs=1e-4)


@pytest.mark.parametrize(
    "overrides,beta", [({"loss_form": "original"}, 0.1), ({"beta": 0.5}, 0.5), ({"lora_r": 4}, 0.1)]
)
def test_npo_first_step_other_forms(unlearned, overrides, beta):
    """Also true of the original form, another beta, and LoRA (the reference is the base with the adapter off)."""
    run, _, _ = unlearned("npo", **overrides, max_steps=1)
    assert run.history["steps"][0]["forget_loss"] == pytest.approx(2 / beta * math.log(2), abs=1e-4)


def test_simnpo_raises_forget_nll(unlearned, before):
    run, forget, _ = unlearned("simnpo", num_train_epochs=2)
    assert run.config["beta"] == 2.5 and run.config["gamma"] == 0.0
    assert forget > before[0] + 0.5


def test_same_seed_same_weights(unlearned):
    a, _, _ = unlearned("ga_gdr", num_train_epochs=1)
    b, _, _ = unlearned("ga_gdr", num_train_epochs=1, progress=True)  # same config apart from the progress bar
    c, _, _ = unlearned("ga_gdr", num_train_epochs=1, seed=1)
    wa, wb, wc = (load_file(r.checkpoints[-1].path / "model.safetensors") for r in (a, b, c))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)


def test_rmu_steers_the_chosen_layer_on_forget_text(unlearned, trained_model_dir, tiny_corpus, windows_of):
    from musebench.unlearn.methods.rmu import decoder_layers, layer_output

    run, _, _ = unlearned("rmu", num_train_epochs=2, learning_rate=3e-2)
    layer = 1  # default_layer(2): the last of 2 layers (never layer 0)
    assert run.history["steps"][0]["rmu_retain"] == pytest.approx(0.0, abs=1e-9)

    def activations(model_dir, docs):
        model = load_unlearned(model_dir).model
        ids, mask, _ = windows_of(docs)
        with torch.no_grad():
            h = layer_output(model, {"input_ids": ids, "attention_mask": mask}, decoder_layers(model), layer)
        return h[mask.bool()]

    def relative_change(docs):
        old, new = activations(trained_model_dir, docs), activations(run.checkpoints[-1].path, docs)
        return float((new - old).norm() / old.norm())

    # the tiny corpus's documents share one template, so retain activations move too, but less
    forget_change, retain_change = relative_change(tiny_corpus.forget), relative_change(tiny_corpus.retain1)
    assert forget_change > 0.5
    assert forget_change > 1.2 * retain_change
    first, last = run.history["steps"][0]["rmu_forget"], run.history["epochs"][-1]["rmu_forget"]
    assert last < 0.7 * first  # the forget activations approach the control vector
    old = load_file(trained_model_dir / "model.safetensors")
    new = load_file(run.checkpoints[-1].path / "model.safetensors")
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    # as WMDP: only the MLP output projection of the layers up to the steered one (here layers 0 and 1)
    assert changed == {f"model.layers.{i}.mlp.down_proj.weight" for i in (0, 1)}


def test_outputs_are_plain_models_and_run_json(unlearned, tiny_corpus):
    run, _, _ = unlearned("npo_gdr")
    assert [c.label for c in run.checkpoints] == [f"epoch-{k}" for k in range(1, 7)]
    record = json.loads(run.run_json.read_text())
    assert record["status"] == "complete" and record["error"] is None
    assert record["method"] == "npo_gdr" and record["config"]["beta"] == 0.1 and record["config"]["alpha"] == 1.0
    assert record["corpus"]["fingerprint"] == tiny_corpus.fingerprint()
    assert {"torch", "transformers", "peft"} <= set(record["versions"])
    assert [e["epoch"] for e in record["history"]["epochs"]] == list(range(1, 7))
    assert len(record["history"]["steps"]) == 6 * record["data"]["steps_per_epoch"]
    assert not (run.out_dir / "checkpoints").exists()  # trainer checkpoints are removed after a finished run
    epoch = run.checkpoints[0].path
    assert (epoch / "model.safetensors").is_file() and (epoch / "tokenizer.json").is_file()
    assert type(load_unlearned(epoch).model).__name__ == "LlamaForCausalLM"


def test_lora_epochs_are_merged_plain_models(unlearned):
    run, _, _ = unlearned("ga", lora_r=4, num_train_epochs=1)
    keys = load_file(run.checkpoints[0].path / "model.safetensors").keys()
    assert not any("lora" in k or "base_layer" in k for k in keys)
    assert "model.layers.0.self_attn.q_proj.weight" in keys


def test_merged_lora_state_dict_matches_peft_merge(trained_model_dir):
    import copy

    from peft import LoraConfig, get_peft_model

    from musebench.unlearn.export import merged_lora_state_dict

    torch.manual_seed(0)
    model = load_unlearned(trained_model_dir).model
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
    )
    merged = merged_lora_state_dict(peft_model, peft_model.state_dict())
    reference = copy.deepcopy(peft_model).merge_and_unload().state_dict()
    assert set(merged) == set(reference)
    assert all(torch.allclose(merged[k], reference[k], atol=1e-6) for k in reference)
    assert not torch.allclose(
        merged["model.layers.0.mlp.up_proj.weight"],
        peft_model.get_base_model().model.layers[0].mlp.up_proj.base_layer.weight,
    )


def test_nan_loss_stops_with_training_error_and_keeps_last_good_epoch(
    trained_model_dir, tiny_corpus, tmp_path, monkeypatch
):
    from musebench.unlearn import losses

    real_nll, calls = losses.nll, []

    def nll_turning_nan(logits, labels, normaliser=None):
        calls.append(1)
        value = real_nll(logits, labels, normaliser)
        return value * float("nan") if len(calls) > 2 else value  # epoch 1 = 2 steps, then NaN

    monkeypatch.setattr(losses, "nll", nll_turning_nan)
    config = config_for(
        method="ga", num_train_epochs=3, learning_rate=1e-3, per_device_train_batch_size=2, max_len=32, progress=False
    )
    with pytest.raises(TrainingError, match="last good checkpoint is epoch-1"):
        run_unlearning(trained_model_dir, tiny_corpus, config, tmp_path)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "failed" and "nan" in record["error"]
    assert [c["label"] for c in record["checkpoints"]] == ["epoch-1"]
    assert (tmp_path / "epoch-1" / "model.safetensors").is_file() and not (tmp_path / "epoch-2").exists()


def test_bad_requests_fail_before_training(trained_model_dir, tiny_corpus, tmp_path):
    config = config_for(method="ga_gdr", num_train_epochs=1, max_len=32, progress=False)
    no_retain = type(tiny_corpus)(name="x", forget=tiny_corpus.forget)
    with pytest.raises(DataError, match="retain"):
        run_unlearning(trained_model_dir, no_retain, config, tmp_path / "a")
    with pytest.raises(ConfigError, match="sust fold 9"):
        run_unlearning(trained_model_dir, tiny_corpus, config, tmp_path / "b", forget_split="sust/forget_9")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "run.json").write_text(
        json.dumps({"schema_version": 1, "method": "ga", "config": {}, "status": "complete"})
    )
    with pytest.raises(ConfigError, match="already holds"):
        run_unlearning(trained_model_dir, tiny_corpus, config, tmp_path / "c")
    with pytest.raises(ConfigError, match="run directory"):
        load_unlearned(tmp_path / "c")


def test_config_validation_names_field_and_value():
    with pytest.raises(ConfigError) as err:
        config_for(method="npo", learning_rate=-1.0)  # the old name; the field is Hugging Face's
    assert err.value.field == "learning_rate" and err.value.value == -1.0
    with pytest.raises(ConfigError, match="unknown method"):
        config_for(method="sgd")
    with pytest.raises(ConfigError) as err:  # every problem at once
        config_for(method="npo", num_train_epochs=0, beta=-2.0, loss_form="paper")
    assert all(name in str(err.value) for name in ("num_train_epochs", "beta", "loss_form"))
    with pytest.raises(ConfigError, match="learn_rate: unknown option of UnlearnConfig; did you mean learning_rate"):
        UnlearnConfig.from_dict({"method": "ga", "learn_rate": 1e-5})
    assert UnlearnConfig.from_dict({"method": "whp", "alphas": (1, 2)}).alphas == [1, 2]


def test_registry_and_resolved_defaults():
    assert {"ga", "ga_gdr", "ga_klr", "npo", "npo_gdr", "npo_klr", "simnpo", "rmu", "task_vector", "whp"} <= set(
        METHODS
    )
    resolved = config_for(method="npo_klr", lora_r=8)
    assert (resolved.beta, resolved.alpha, resolved.lora_alpha) == (0.1, 1.0, 16.0)
    assert config_for(method="rmu").alpha == 1200.0
    defaults = config_for(method="ga")
    assert (
        defaults.learning_rate,
        defaults.num_train_epochs,
        defaults.per_device_train_batch_size,
        defaults.max_len,
        defaults.max_grad_norm,
        defaults.lr_scheduler_type.value,
        defaults.optim.value,
        defaults.weight_decay,
        defaults.seed,
        defaults.save_strategy.value,
        defaults.logging_steps,
        defaults.report_to,
    ) == (1e-5, 10, 4, 2048, 1.0, "constant", "adamw_torch", 0.0, 0, "epoch", 1, [])


def test_load_unlearned_delegates_whp_directories(tmp_path, monkeypatch):
    from musebench.unlearn.edit import whp

    seen = []
    monkeypatch.setattr(whp, "load_whp", lambda path, device, dtype: seen.append((path, device, dtype)) or "wrapper")
    (tmp_path / "whp.json").write_text("{}")
    assert load_unlearned(tmp_path, "cpu", torch.float32) == "wrapper"
    assert seen == [(tmp_path, "cpu", torch.float32)]
