"""Task Vector: the arithmetic by hand, the in-place edit, the on-disk verification, the cached fine-tune."""

from __future__ import annotations

import pytest
import torch

from musebench.errors import ModelError, TrainingError
from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
from musebench.unlearn.task_vector import TaskVectorEditor, negate_task_vector, read_safetensors_dir

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
