"""WGA: the weighted ascent loss and its gradient by hand, and its trainer on the tiny trained model."""

from __future__ import annotations

import math

import pytest
import torch

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


def test_wga_loss_hand_case():
    """L = (1/N) sum_t p_t^beta log p_t over real targets: p = 3/4, 1/2 (the third position has no target)."""
    labels = torch.tensor([[0, 1, 0]])
    for beta in (0.0, 1.0, 2.0):
        expected = (0.75**beta * math.log(0.75) + 0.5**beta * math.log(0.5)) / 2
        assert losses.wga_loss(LOGITS, labels, beta).item() == pytest.approx(expected, abs=1e-6)
    # beta = 0 is gradient ascent: minus the NLL
    assert losses.wga_loss(LOGITS, labels, 0.0).item() == pytest.approx(-losses.nll(LOGITS, labels).item(), 1e-6)
    # padding targets do not count
    padded = torch.tensor([[0, 1, -100]])
    assert losses.wga_loss(LOGITS, padded, 1.0).item() == pytest.approx(0.75 * math.log(0.75), abs=1e-6)


def test_wga_weights_are_detached():
    """d L / d z_true = p^beta (1 - p) / N: the weight scales the ascent gradient but is not differentiated
    (differentiating it would add beta p^beta log p (1 - p) / N and flip the sign for confident tokens)."""
    logits = LOGITS.clone().requires_grad_(True)
    labels = torch.tensor([[0, 1, -100]])
    beta = 2.0
    losses.wga_loss(logits, labels, beta).backward()
    p = 0.75
    assert logits.grad[0, 0, 1].item() == pytest.approx(p**beta * (1 - p), abs=1e-6)
    assert logits.grad[0, 0, 1].item() > 0  # descent lowers the true token's logit


def test_wga_beta_zero_first_step_is_gradient_ascent(trained_model_dir, tiny_corpus, tmp_path, nll_of):
    """With beta = 0 the first step's loss is GA's (same seed, same batch); with the default beta the
    loss is smaller in size (weights <= 1) and two steps raise the forget NLL."""

    def first_steps(method, out, **options):
        config = UnlearnConfig.from_dict({"method": method, **TWO_STEPS, **options})
        return run_unlearning(trained_model_dir, tiny_corpus, config, tmp_path / out)

    ga = first_steps("ga", "ga", max_steps=1)
    wga0 = first_steps("wga", "wga0", beta=0.0, max_steps=1)
    wga = first_steps("wga_gdr", "wga")
    assert wga0.history["steps"][0]["forget_loss"] == pytest.approx(ga.history["steps"][0]["forget_loss"], 1e-5)
    assert wga.config["beta"] == 1.0 and wga.config["alpha"] == 1.0
    assert ga.history["steps"][0]["forget_loss"] < wga.history["steps"][0]["forget_loss"] < 0
    assert "retain_loss" in wga.history["steps"][0]
    before = nll_of(trained_model_dir, tiny_corpus.forget)
    assert nll_of(wga.checkpoints[-1].path, tiny_corpus.forget) > before + 0.5


@pytest.mark.parametrize(
    "loss",
    [lambda z, y, n=None: losses.wga_loss(z, y, 1.0, n), lambda z, y, n=None: losses.satimp_loss(z, y, 5.0, 1.0, n)],
)
def test_split_batches_sum_to_the_whole_batch_mean(loss):
    """WGA and SatImp (one weighted-ascent sum): halves of a ragged batch over the step's target count add up to
    the whole batch's mean."""
    torch.manual_seed(2)
    logits = torch.randn(4, 6, 5)
    labels = torch.randint(0, 5, (4, 6))
    labels[0, 4:] = -100
    labels[2, 1:] = -100
    count = losses.target_count(labels)
    halves = sum(loss(logits[i : i + 2], labels[i : i + 2], count) for i in (0, 2))
    assert halves.item() == pytest.approx(loss(logits, labels).item(), abs=1e-6)
