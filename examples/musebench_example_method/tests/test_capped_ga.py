"""The example plugin's own test: its loss on a hand-computed case, and where its gradient points."""

import math

import torch
from musebench_example_method import capped_ga_loss


def test_capped_ga_loss_by_hand():
    # position 0 predicts token 1 with p = 1/2; position 1 predicts token 1 with log p = -log(1 + e^10) ~ -10
    logits = torch.tensor([[[0.0, 0.0], [0.0, -10.0], [0.0, 0.0]]], requires_grad=True)
    labels = torch.tensor([[0, 1, 1]])
    loss = capped_ga_loss(logits, labels, floor=5.0)
    assert -math.log1p(math.exp(10.0)) < -5.0  # so the second token counts as the floor, -5
    assert math.isclose(loss.item(), (math.log(0.5) - 5.0) / 2, rel_tol=1e-6)
    loss.backward()
    assert logits.grad[0, 1].abs().sum() == 0  # the token past the floor gets no gradient
    assert logits.grad[0, 0, 1] > 0  # descent lowers the logit of the remembered token (ascent on its NLL)
