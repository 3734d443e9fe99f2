"""Task Vector: the arithmetic by hand, the in-place edit, the on-disk verification, the cached fine-tune."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from musebench.errors import ModelError, TrainingError
from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
from musebench.unlearn.edit.task_vector import TaskVectorEditor, negate_task_vector, read_safetensors_dir

SPEC = TinyLlamaSpec(hidden_size=64, num_layers=2, num_heads=4, intermediate_size=128)


def test_negation_by_hand():
    # w: target [1, 2], fine-tuned [2, 0] -> task vector [1, -2]; alpha 2 -> [1 - 2, 2 + 4] = [-1, 6]
    target = {"w": torch.tensor([1.0, 2.0]), "b": torch.tensor([0.5])}
    finetuned = {"w": torch.tensor([2.0, 0.0]), "b": torch.tensor([0.5])}
    out = negate_task_vector(target, finetuned, alpha=2.0)
    assert torch.equal(out["w"], torch.tensor([-1.0, 6.0]))
    assert torch.equal(out["b"], torch.tensor([0.5]))  # unchanged weight, zero task vector
    assert torch.equal(negate_task_vector(target, finetuned, alpha=0.0)["w"], target["w"])
    # alpha = -1 would give back the fine-tuned model: the sign convention is "away from" θ_ft
    assert torch.equal(negate_task_vector(target, finetuned, alpha=-1.0)["w"], finetuned["w"])


def test_negation_keeps_dtype_and_rejects_mismatches():
    t = {"w": torch.tensor([1.0, 2.0], dtype=torch.bfloat16)}
    f = {"w": torch.tensor([1.5, 2.0], dtype=torch.bfloat16)}
    assert negate_task_vector(t, f, 1.0)["w"].dtype == torch.bfloat16
    with pytest.raises(ModelError, match="differ in names"):
        negate_task_vector(t, {"v": f["w"]}, 1.0)
    with pytest.raises(ModelError, match="shape mismatch"):
        negate_task_vector(t, {"w": torch.zeros(3)}, 1.0)


@pytest.fixture()
def model_pair(tiny_tokenizer):
    """A target and a 'fine-tuned' copy whose weights moved by a small, known amount."""
    target = build_tiny_llama(tiny_tokenizer, SPEC, seed=0)
    finetuned = build_tiny_llama(tiny_tokenizer, SPEC, seed=0)
    with torch.no_grad():
        for k, p in enumerate(finetuned.parameters()):
            p.add_(0.01 * (k + 1) * torch.ones_like(p))
    return target, finetuned


def test_editor_matches_the_formula_and_alpha_zero_is_the_target(model_pair):
    target, finetuned = model_pair
    target_sd = {n: p.detach().clone() for n, p in target.named_parameters()}
    ft_sd = {n: p.detach().clone() for n, p in finetuned.named_parameters()}
    editor = TaskVectorEditor(target, finetuned)
    editor.apply(4.0)
    expected = negate_task_vector(target_sd, ft_sd, 4.0)
    for name, p in target.named_parameters():
        torch.testing.assert_close(p.detach(), expected[name], rtol=0, atol=0)
    assert editor.differs_from_target()
    editor.apply(0.0)  # back to the target exactly: the base copy is kept, not the running weights
    assert all(torch.equal(p, target_sd[n]) for n, p in target.named_parameters())
    assert not editor.differs_from_target()


def test_bf16_target_with_fp32_finetuned_model(model_pair):
    """MUSE targets are bf16 on disk, θ_ft is saved in fp32: Δ keeps fp32, the edited weights are bf16."""
    target, finetuned = model_pair
    target.to(torch.bfloat16)
    target_sd = {n: p.detach().clone() for n, p in target.named_parameters()}
    ft_sd = {n: p.detach().clone() for n, p in finetuned.named_parameters()}
    editor = TaskVectorEditor(target, finetuned)
    assert all(d.dtype == torch.float32 for d in editor.delta.values())
    editor.apply(8.0)
    expected = negate_task_vector(target_sd, ft_sd, 8.0)
    for name, p in target.named_parameters():
        assert p.dtype == torch.bfloat16 and torch.equal(p.detach(), expected[name])


def test_saved_checkpoint_is_verified_from_disk(model_pair, tmp_path, tiny_tokenizer):
    target, finetuned = model_pair
    target_sd = {n: p.detach().clone() for n, p in target.named_parameters()}
    editor = TaskVectorEditor(target, finetuned)
    out = editor.save(2.0, tmp_path / "alpha-2", tokenizer=tiny_tokenizer)
    on_disk = read_safetensors_dir(out)
    embed = "model.embed_tokens.weight"
    # each parameter k moved by 0.01 (k+1); alpha 2 -> target - 0.02 (k+1), the embedding is parameter 0
    torch.testing.assert_close(on_disk[embed], target_sd[embed] - 0.02, rtol=0, atol=1e-6)
    assert (out / "tokenizer.json").is_file()


def test_zero_task_vector_is_an_error(tiny_tokenizer):
    a = build_tiny_llama(tiny_tokenizer, SPEC, seed=0)
    b = build_tiny_llama(tiny_tokenizer, SPEC, seed=0)
    with pytest.raises(TrainingError, match="equals the target"):
        TaskVectorEditor(a, b)


def test_a_save_that_drops_the_edit_is_caught(model_pair, tmp_path, monkeypatch):
    """The original MUSE bug: the checkpoint on disk held the target's weights. It must raise here."""
    target, finetuned = model_pair
    target_sd = {n: p.detach().clone() for n, p in target.named_parameters()}
    editor = TaskVectorEditor(target, finetuned)
    real_save = type(target).save_pretrained

    def save_the_target_instead(self, path, **kwargs):
        edited = {n: p.detach().clone() for n, p in self.named_parameters()}
        with torch.no_grad():
            for n, p in self.named_parameters():
                p.copy_(target_sd[n])
        real_save(self, path, **kwargs)
        with torch.no_grad():
            for n, p in self.named_parameters():
                p.copy_(edited[n])

    monkeypatch.setattr(type(target), "save_pretrained", save_the_target_instead)
    with pytest.raises(TrainingError, match="differs from the task-vector edit"):
        editor.save(8.0, tmp_path / "alpha-8")
    assert not (tmp_path / "alpha-8").exists()  # verified before the atomic rename: no wrong checkpoint left


# ----- the whole method: cached fine-tune, one checkpoint per alpha -------------------------------------


def _config(**overrides):
    from musebench.unlearn.config import config_for

    values = dict(
        method="task_vector",
        num_train_epochs=2,
        learning_rate=1e-3,
        per_device_train_batch_size=2,
        max_len=24,
        alphas=(1.0, 4.0),
        use_cpu=True,
        progress=False,
        seed=0,
    )
    values.update(overrides)
    return config_for(**values)


def _forget_nll(model, tokenizer, docs):
    from musebench.unlearn.losses import nll

    batch = tokenizer(docs, return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    with torch.no_grad():
        return float(nll(model(**batch).logits, labels))


@pytest.fixture(scope="module")
def tv_run(tmp_path_factory, trained_model_dir, tiny_corpus):
    """Task Vector from the fixture model trained on the tiny corpus (tests/unlearn/conftest.py)."""
    from musebench.unlearn.edit.task_vector import run_task_vector

    out = tmp_path_factory.mktemp("tv_run")
    return run_task_vector(trained_model_dir, tiny_corpus, _config(), out)


def test_run_writes_verified_alpha_checkpoints(tv_run, trained_model_dir, tiny_corpus):
    from musebench.models.loading import load_model

    assert [c.label for c in tv_run.checkpoints] == ["alpha-1", "alpha-4"]
    target = load_model(trained_model_dir)
    ft = load_model(tv_run.out_dir / "finetuned" / "epoch-2")
    a1 = load_model(tv_run.checkpoint("alpha-1").path)
    a4 = load_model(tv_run.checkpoint("alpha-4").path)
    t_sd = dict(target.model.named_parameters())
    for name, p1 in a1.model.named_parameters():
        delta = ft.model.get_parameter(name) - t_sd[name]
        torch.testing.assert_close(p1, t_sd[name] - delta, rtol=0, atol=1e-6)
        torch.testing.assert_close(a4.model.get_parameter(name), t_sd[name] - 4 * delta, rtol=0, atol=1e-5)
    assert any(not torch.equal(p, t_sd[n]) for n, p in a4.model.named_parameters())
    # direction (catches a flipped sign): fine-tuning lowered the forget NLL of the trained target, the
    # negated task vector raises it, and more so at alpha 4 (measured: 1.55 < 1.66 < 2.07 < 4.26)
    docs = tiny_corpus.forget
    nll_t, nll_ft = _forget_nll(target.model, target.tokenizer, docs), _forget_nll(ft.model, ft.tokenizer, docs)
    nll_1 = _forget_nll(a1.model, a1.tokenizer, docs)
    nll_4 = _forget_nll(a4.model, a4.tokenizer, docs)
    assert nll_ft < nll_t - 0.05 and nll_t + 0.2 < nll_1 and nll_1 + 1.0 < nll_4


def test_run_json_is_readable_and_finetune_is_cached(tv_run, trained_model_dir, tiny_corpus, monkeypatch):
    from musebench.unlearn import training
    from musebench.unlearn.edit.task_vector import run_task_vector
    from musebench.unlearn.record import read_run

    saved = read_run(tv_run.out_dir)
    assert saved.status == "complete" and [c.label for c in saved.checkpoints] == ["alpha-1", "alpha-4"]
    assert sorted(p.name for p in (tv_run.out_dir / "finetuned").iterdir() if p.is_dir()) == ["epoch-2"]

    def no_training(*args, **kwargs):
        raise AssertionError("the fine-tuned model should have been reused")

    monkeypatch.setattr(training, "train", no_training)
    again = run_task_vector(trained_model_dir, tiny_corpus, _config(alphas=(8.0,)), tv_run.out_dir)
    assert [c.label for c in again.checkpoints] == ["alpha-8"] and (tv_run.out_dir / "alpha-8").is_dir()


def test_changed_recipe_is_not_silently_reused(tv_run, trained_model_dir, tiny_corpus):
    from musebench.errors import ConfigError
    from musebench.unlearn.edit.task_vector import run_task_vector

    with pytest.raises(ConfigError, match="recipe.learning_rate"):
        run_task_vector(trained_model_dir, tiny_corpus, _config(learning_rate=1e-2), tv_run.out_dir)


def test_another_methods_run_is_not_overwritten(tv_run, trained_model_dir, tiny_corpus):
    from musebench.errors import ConfigError
    from musebench.unlearn.edit.whp import run_whp

    with pytest.raises(ConfigError, match="already holds a 'task_vector' run"):
        run_whp(trained_model_dir, tiny_corpus, _config(method="whp"), tv_run.out_dir)


def test_editing_loads_whole_models_after_a_zero3_run(tiny_model_dir, tmp_path, tiny_tokenizer):
    """A live ZeRO-3 config would make from_pretrained partition (a collective); editing must bypass it."""
    from transformers import AutoModelForCausalLM
    from transformers.integrations import deepspeed as hf_deepspeed

    from musebench.unlearn.edit.finetune import load_target_like

    class Zero3Config:  # what DeepSpeed's HfDeepSpeedConfig answers during a ZeRO-3 run
        config = {"zero_optimization": {"stage": 3}}

        def is_zero3(self):
            return True

    ft_dir = tmp_path / "ft"
    build_tiny_llama(tiny_tokenizer, SPEC, seed=5).save_pretrained(ft_dir, safe_serialization=True)
    tiny_tokenizer.save_pretrained(ft_dir)
    live = Zero3Config()
    hf_deepspeed.set_hf_deepspeed_config(live)
    try:
        assert hf_deepspeed.is_deepspeed_zero3_enabled()
        if importlib.util.find_spec("deepspeed") is None:
            with pytest.raises(ImportError, match="deepspeed"):  # the plain load goes for zero.Init
                AutoModelForCausalLM.from_pretrained(tiny_model_dir)
        target, finetuned = load_target_like(tiny_model_dir, ft_dir)
        assert target.model.model.embed_tokens.weight.numel() > 0  # whole, not partitioned
        assert hf_deepspeed.is_deepspeed_zero3_enabled()  # the run's config is restored afterwards
    finally:
        hf_deepspeed.unset_hf_deepspeed_config()


def test_rows_the_target_lacks_come_from_the_finetuned_model(tmp_path, tiny_model_dir, tiny_tokenizer):
    """A token added at fine-tuning time (Llama-2's missing <pad>) gets θ_ft's row: a zero task vector there,
    not the difference between two random initialisations multiplied by alpha."""
    from transformers import AutoTokenizer

    from musebench.unlearn.edit.finetune import load_target_like

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.add_special_tokens({"additional_special_tokens": ["<extra>"]})
    ft = build_tiny_llama(tiny_tokenizer, SPEC, seed=0)
    ft.resize_token_embeddings(len(tok))
    with torch.no_grad():
        for p in ft.parameters():
            p.add_(0.01)
    ft.save_pretrained(tmp_path / "ft", safe_serialization=True)
    tok.save_pretrained(tmp_path / "ft")
    target, finetuned = load_target_like(tiny_model_dir, tmp_path / "ft")
    n = len(tiny_tokenizer)
    assert len(target.tokenizer) == n + 1
    for get in ("get_input_embeddings", "get_output_embeddings"):
        w_t, w_f = getattr(target.model, get)().weight, getattr(finetuned.model, get)().weight
        assert w_t.shape == w_f.shape == (n + 1, SPEC.hidden_size)
        assert torch.equal(w_t[n:], w_f[n:])
        assert not torch.equal(w_t[:n], w_f[:n])  # the target's own rows are its own
    editor = TaskVectorEditor(target.model, finetuned.model)
    assert not editor.delta["model.embed_tokens.weight"][n:].any()
    assert editor.delta["model.embed_tokens.weight"][:n].abs().min() > 0
