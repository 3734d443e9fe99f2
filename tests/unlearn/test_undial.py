"""UNDIAL: the adjusted-logit distillation loss by hand, and its trainer on the tiny trained model."""

from __future__ import annotations

import math

import pytest
import torch

from musebench.errors import ConfigError
from musebench.unlearn import UnlearnConfig, losses, run_unlearning

# two optimizer steps at a high rate (old short names: from_dict reads them under either name)
TWO_STEPS = {
    "num_train_epochs": 1,
    "max_steps": 2,
    "learning_rate": 3e-3,
    "per_device_train_batch_size": 2,
    "max_len": 32,
    "progress": False,
}


def test_undial_loss_hand_case_masks_padding():
    """V = 3, one real target (token 1) and one padding target. Reference logits [0, ln 4, 0] lowered by
    beta = ln 4 on token 1 give the teacher [1/3, 1/3, 1/3]; a uniform student then costs ln 3 (the cross-
    entropy of two uniform distributions). The padded position's huge logits must not count."""
    ref = torch.tensor([[[0.0, math.log(4.0), 0.0], [9.0, -9.0, 0.0], [0.0, 0.0, 0.0]]])
    student = torch.tensor([[[0.0, 0.0, 0.0], [-9.0, 9.0, 0.0], [0.0, 0.0, 0.0]]])
    labels = torch.tensor([[2, 1, -100]])
    assert losses.undial_loss(student, ref, labels, beta=math.log(4.0)).item() == pytest.approx(math.log(3.0), 1e-6)
    # a student [ln 2, 0, 0] (p = [1/2, 1/4, 1/4]) against the same teacher: -(1/3)(ln 1/2 + 2 ln 1/4)
    student = torch.tensor([[[math.log(2.0), 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    expected = -(math.log(0.5) + 2 * math.log(0.25)) / 3
    assert losses.undial_loss(student, ref, labels, beta=math.log(4.0)).item() == pytest.approx(expected, 1e-6)
    # normaliser replaces the count of real targets (1 here)
    assert losses.undial_loss(student, ref, labels, math.log(4.0), normaliser=2.0).item() == pytest.approx(
        expected / 2, 1e-6
    )


def test_undial_gradient_moves_mass_off_the_true_token():
    """Starting at the reference (student = teacher before adjustment), a descent step lowers the true
    token's probability and raises the others'; with beta = 0 the reference is a fixed point (zero gradient)."""
    torch.manual_seed(0)
    ref = torch.randn(2, 5, 7)
    labels = torch.randint(0, 7, (2, 5))
    for beta, moves in ((3.0, True), (0.0, False)):
        student = ref.clone().requires_grad_(True)
        losses.undial_loss(student, ref, labels, beta).backward()
        grad_true = student.grad[:, :-1].gather(-1, labels[:, 1:].unsqueeze(-1)).squeeze(-1)
        if moves:
            assert (grad_true > 0).all()  # descent (minus the gradient) lowers the true token's logit
        else:
            assert student.grad.abs().max().item() < 1e-7


def test_undial_beta_is_checked_and_defaults_are_openunlearnings():
    with pytest.raises(ConfigError, match="beta"):
        UnlearnConfig.from_dict({"method": "undial", "beta": -1.0})
    resolved = UnlearnConfig.from_dict({"method": "undial"})
    assert (resolved.beta, resolved.learning_rate) == (10.0, 1e-4)


def test_undial_trainer_lowers_forget_likelihood(trained_model_dir, tiny_corpus, tmp_path, nll_of):
    """Two steps at a high rate: the forget NLL rises from the trained model's; the first logged loss is the
    cross-entropy from the adjusted teacher to the start model itself, which exceeds that model's own NLL."""
    config = UnlearnConfig.from_dict({"method": "undial", **TWO_STEPS})
    run = run_unlearning(trained_model_dir, tiny_corpus, config, tmp_path)
    assert run.config["beta"] == 10.0
    before, after = nll_of(trained_model_dir, tiny_corpus.forget), nll_of(run.checkpoints[-1].path, tiny_corpus.forget)
    assert after > before + 0.5
    steps = run.history["steps"]
    assert len(steps) == 2 and all(math.isfinite(s["forget_loss"]) for s in steps)


def test_undial_split_batches_sum_to_the_whole_batch_mean():
    """With the step's target count as normaliser, the halves of a ragged batch add up to the whole batch's mean
    (what makes gradient accumulation and data parallelism exact)."""
    torch.manual_seed(1)
    logits, ref = torch.randn(4, 6, 5), torch.randn(4, 6, 5)
    labels = torch.randint(0, 5, (4, 6))
    labels[1, 3:] = -100
    labels[3, 2:] = -100
    whole = losses.undial_loss(logits, ref, labels, 3.0)
    count = losses.target_count(labels)
    halves = sum(losses.undial_loss(logits[i : i + 2], ref[i : i + 2], labels[i : i + 2], 3.0, count) for i in (0, 2))
    assert halves.item() == pytest.approx(whole.item(), abs=1e-6)
