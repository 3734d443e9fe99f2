"""SatImp: the saturation x importance weighted ascent by hand, and its trainer on the tiny trained model."""

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

LOGITS = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0], [5.0, -5.0]]])  # p = 3/4, then 1/2


def test_satimp_loss_hand_case():
    """L = (1/N) sum_t p^b1 (1-p)^b2 log p: with b1 = 2, b2 = 1, p = 3/4 and 1/2."""
    labels = torch.tensor([[0, 1, 0]])
    expected = (0.75**2 * 0.25 * math.log(0.75) + 0.5**2 * 0.5 * math.log(0.5)) / 2
    assert losses.satimp_loss(LOGITS, labels, 2.0, 1.0).item() == pytest.approx(expected, abs=1e-6)
    # beta2 = 0 is WGA with beta = beta1
    assert losses.satimp_loss(LOGITS, labels, 2.0, 0.0).item() == pytest.approx(
        losses.wga_loss(LOGITS, labels, 2.0).item(), abs=1e-7
    )


def test_satimp_weight_peaks_between_known_and_forgotten():
    """d L / d z_true = w (1 - p) / N with w = p^b1 (1-p)^b2 detached: a token the model is nearly sure of
    (p ~ 1) and one already forgotten (p ~ 0) both get almost no push; one in between gets the most."""
    grads = []
    for p in (0.999, 0.6, 0.001):
        z = math.log(p / (1 - p))
        logits = torch.tensor([[[0.0, z], [0.0, 0.0]]], requires_grad=True)
        losses.satimp_loss(logits, torch.tensor([[0, 1]]), 1.0, 1.0).backward()
        assert logits.grad[0, 0, 1].item() == pytest.approx(p * (1 - p) * (1 - p), rel=1e-3)
        grads.append(logits.grad[0, 0, 1].item())
    assert grads[1] > 50 * max(grads[0], grads[2])


def test_satimp_options_are_checked():
    with pytest.raises(ConfigError, match="beta2"):
        UnlearnConfig.from_dict({"method": "satimp", "beta2": float("nan")})


def test_satimp_gdr_trainer_raises_forget_nll(trained_model_dir, tiny_corpus, tmp_path, nll_of):
    config = UnlearnConfig.from_dict({"method": "satimp_gdr", **TWO_STEPS})
    run = run_unlearning(trained_model_dir, tiny_corpus, config, tmp_path)
    assert (run.config["beta1"], run.config["beta2"], run.config["alpha"]) == (5.0, 1.0, 10.0)
    first = run.history["steps"][0]
    assert first["forget_loss"] < 0 and first["retain_loss"] > 0
    before = nll_of(trained_model_dir, tiny_corpus.forget)
    assert nll_of(run.checkpoints[-1].path, tiny_corpus.forget) > before + 0.1
