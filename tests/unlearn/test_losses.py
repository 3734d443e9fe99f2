"""The loss functions on small hand-computed tensors (derivations in each docstring)."""

from __future__ import annotations

import math

import pytest
import torch

from musebench.unlearn import losses

LOG2 = math.log(2.0)


def softplus(x: float) -> float:
    """-log sigmoid(-x) = log(1 + e^x)."""
    return math.log1p(math.exp(x))


def test_token_logprobs_shift_and_mask():
    """Position t predicts token t+1. Logits at t=0 favour token 1 with logits [0, log 3] -> p(1) = 3/4;
    t=1 is uniform over 2 tokens -> p = 1/2; the last target is padding (-100) and is masked out."""
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0], [5.0, -5.0]]])
    labels = torch.tensor([[0, 1, -100]])
    logp, mask = losses.token_logprobs(logits, labels)
    assert logp.shape == (1, 2)
    assert mask.tolist() == [[True, False]]
    assert logp[0, 0].item() == pytest.approx(math.log(0.75), abs=1e-6)
    assert logp[0, 1].item() == 0.0
    assert losses.sequence_logprob(logits, labels).item() == pytest.approx(math.log(0.75), abs=1e-6)


def test_nll_is_the_token_mean_over_the_batch():
    """Two sequences: the first has targets with p = 3/4 and 1/2, the second one target with p = 1/2, so the
    token mean is -(log 3/4 + 2 log 1/2) / 3; the sequence means would give a different number."""
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]])
    labels = torch.tensor([[0, 1, 0], [0, 1, -100]])
    expected = -(math.log(0.75) + 2 * math.log(0.5)) / 3
    assert losses.nll(logits, labels).item() == pytest.approx(expected, abs=1e-6)
    assert losses.average_logprob(logits, labels).tolist() == pytest.approx(
        [(math.log(0.75) + math.log(0.5)) / 2, math.log(0.5)], abs=1e-6
    )


def test_npo_loss_hand_cases():
    """NPO = -(2/b) log sigmoid(-b (logp - ref)) = (2/b) softplus(b (logp - ref)).
    b = 0.1: equal log-likelihoods -> 20 log 2 = 13.8629; logp - ref = -2 -> 20 softplus(-0.2) = 11.9333;
    logp - ref = +1 -> 20 softplus(0.1) = 14.8876 (raising the forget likelihood costs more)."""
    logp = torch.tensor([-2.0, -3.0, -1.0])
    ref = torch.tensor([-2.0, -1.0, -2.0])
    out = losses.npo_loss(logp, ref, beta=0.1)
    assert out.shape == (3,)
    assert out.tolist() == pytest.approx([20 * LOG2, 20 * softplus(-0.2), 20 * softplus(0.1)], abs=1e-5)
    assert out[0].item() == pytest.approx(13.862944, abs=1e-5)


def test_npo_gradient_pushes_likelihood_down():
    """d/dlogp of (2/b) softplus(b d) is 2 sigmoid(b d) > 0: gradient descent lowers log pi(x); at d = 0 it is 1."""
    logp = torch.tensor([-2.0], requires_grad=True)
    losses.npo_loss(logp, torch.tensor([-2.0]), beta=0.1).sum().backward()
    assert logp.grad.item() == pytest.approx(1.0, abs=1e-6)


def test_npo_original_form_on_raw_logits():
    """The original code: -(2/b) mean over every logit of log sigmoid(b (z_ref - z)). With z = z_ref it is
    (2/b) log 2 like the textbook form; with z - z_ref = [1, -1] on one position (b = 1) it is
    2 (softplus(1) + softplus(-1)) / 2 = softplus(1) + softplus(-1) = 1 + 2 softplus(-1), not a function
    of the text's likelihood (adding a constant to every logit changes it; it leaves log-softmax alone)."""
    z = torch.tensor([[[0.5, 2.0]]])
    assert losses.npo_loss_original(z, z, beta=0.1).item() == pytest.approx(20 * LOG2, abs=1e-5)
    ref = torch.tensor([[[0.0, 0.0]]])
    cur = torch.tensor([[[1.0, -1.0]]])
    assert losses.npo_loss_original(cur, ref, beta=1.0).item() == pytest.approx(softplus(1) + softplus(-1), abs=1e-6)
    shifted = losses.npo_loss_original(cur + 3.0, ref, beta=1.0).item()
    assert shifted != pytest.approx(softplus(1) + softplus(-1), abs=1e-3)


def test_kl_retain_hand_case_and_mask():
    """p_ref = softmax([0, 0]) = [1/2, 1/2], p = softmax([0, log 3]) = [1/4, 3/4]:
    KL(p_ref || p) = 1/2 log(2) + 1/2 log(2/3) = 1/2 log(4/3) = 0.143841. A second position where both
    agree has KL 0; the mean over both real positions is half that; masking the second gives the full value."""
    ref = torch.tensor([[[0.0, 0.0], [1.0, 2.0]]])
    cur = torch.tensor([[[0.0, math.log(3.0)], [1.0, 2.0]]])
    kl = 0.5 * math.log(4.0 / 3.0)
    assert losses.kl_retain(ref, cur).item() == pytest.approx(kl / 2, abs=1e-6)
    assert losses.kl_retain(ref, cur, torch.tensor([[1, 0]])).item() == pytest.approx(kl, abs=1e-6)
    assert losses.kl_retain(ref, ref).item() == pytest.approx(0.0, abs=1e-7)


def test_kl_original_is_not_a_divergence():
    """The original: sum exp(z_ref) (z_ref - z) / B. With z_ref = [log 1/2, log 1/2] and z = [0, 0] (both the
    same distribution after softmax) it gives 2 * 1/2 * (log 1/2 - 0) = log 1/2 < 0, where the true KL is 0."""
    ref = torch.log(torch.tensor([[[0.5, 0.5]]]))
    cur = torch.zeros(1, 1, 2)
    assert losses.kl_retain_original(ref, cur).item() == pytest.approx(math.log(0.5), abs=1e-6)
    assert losses.kl_retain(ref, cur).item() == pytest.approx(0.0, abs=1e-7)


def test_simnpo_loss_hand_case():
    """SimNPO = (2/b) softplus(b avg_logp + g). b = 2, g = 0.5: avg_logp = -1 -> softplus(-1.5) = 0.201413;
    avg_logp = -0.5 -> softplus(-0.5) = 0.474077. Larger likelihood, larger loss."""
    out = losses.simnpo_loss(torch.tensor([-1.0, -0.5]), beta=2.0, gamma=0.5)
    assert out.tolist() == pytest.approx([softplus(-1.5), softplus(-0.5)], abs=1e-6)
    assert out.tolist() == pytest.approx([0.201413, 0.474077], abs=1e-5)


def test_rmu_loss_hand_case():
    """h_f = [1, 2], c u = [0, 2]: forget MSE = (1 + 0) / 2 = 0.5. h_r = [1, 1], frozen [1, 3]: retain MSE =
    (0 + 4) / 2 = 2. alpha = 10: total 0.5 + 20 = 20.5. A padded position (mask 0) does not count."""
    h_f = torch.tensor([[[1.0, 2.0], [9.0, 9.0]]])
    control = torch.tensor([0.0, 2.0])
    h_r = torch.tensor([[[1.0, 1.0]]])
    frozen = torch.tensor([[[1.0, 3.0]]])
    total, forget, retain = losses.rmu_loss(h_f, control, h_r, frozen, alpha=10.0, forget_mask=torch.tensor([[1, 0]]))
    assert forget.item() == pytest.approx(0.5)
    assert retain.item() == pytest.approx(2.0)
    assert total.item() == pytest.approx(20.5)


def test_step_normaliser_makes_split_batches_sum_to_the_whole_batch_mean():
    """A batch of a 2-target and a 1-target sequence: its token mean is -(log 3/4 + 2 log 1/2) / 3. Split into
    one sequence per process (or micro-batch) and each divided by the step's 3 targets, the parts add up to it;
    each part's own mean would give (-(log 3/4 + log 1/2)/2 - log 1/2) / 2 instead."""
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]])
    labels = torch.tensor([[0, 1, 0], [0, 1, -100]])
    whole = losses.nll(logits, labels)
    assert losses.target_count(labels).item() == 3
    parts = [losses.nll(logits[i : i + 1], labels[i : i + 1], normaliser=3.0) for i in range(2)]
    assert (parts[0] + parts[1]).item() == pytest.approx(whole.item(), abs=1e-6)
    per_part_means = sum(losses.nll(logits[i : i + 1], labels[i : i + 1]) for i in range(2)) / 2
    assert abs(per_part_means.item() - whole.item()) > 0.03  # 0.5918 vs 0.5580
    expected = -(math.log(0.75) + 2 * math.log(0.5)) / 3
    assert whole.item() == pytest.approx(expected, abs=1e-6)


def test_normalisers_of_the_sequence_and_position_means():
    """batch_mean divides the sum of per-sequence values; kl_retain and rmu_loss divide position sums."""
    values = torch.tensor([1.0, 2.0, 6.0])
    assert losses.batch_mean(values).item() == pytest.approx(3.0)
    assert losses.batch_mean(values, normaliser=6).item() == pytest.approx(1.5)
    ref = torch.tensor([[[0.0, 0.0], [0.0, 0.0]]])
    cur = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0]]])  # KL at position 0: 0.5 log(0.5/0.25) + 0.5 log(0.5/0.75)
    kl0 = 0.5 * math.log(2.0) + 0.5 * math.log(2.0 / 3.0)
    mask = torch.tensor([[1, 1]])
    assert losses.kl_retain(ref, cur, mask).item() == pytest.approx(kl0 / 2, abs=1e-6)
    assert losses.kl_retain(ref, cur, mask, normaliser=4).item() == pytest.approx(kl0 / 4, abs=1e-6)
    assert losses.kl_retain_original(ref, cur, mask, normaliser=2).item() == pytest.approx(
        losses.kl_retain_original(ref, cur, mask).item() / 2, abs=1e-6
    )
    h = torch.ones(1, 2, 3)
    total, forget, retain = losses.rmu_loss(h, torch.zeros(3), h, h, 1.0, mask, mask, forget_normaliser=4)
    assert forget.item() == pytest.approx(2 / 4) and retain.item() == 0.0 and total.item() == pytest.approx(0.5)
    big = torch.zeros(1, 2, 5)
    assert losses.npo_loss_original(big, big, 0.5, mask, normaliser=4).item() == pytest.approx(
        losses.npo_loss_original(big, big, 0.5, mask).item() / 2, abs=1e-6
    )
