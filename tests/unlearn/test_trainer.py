"""The shared trainer machinery: step counts, the copied reference, DDP arguments."""

from __future__ import annotations

import pytest
import torch

from musebench.unlearn import config_for
from musebench.unlearn.data import PairCollator
from musebench.unlearn.methods.npo import NPOTrainer
from musebench.unlearn.trainer import batch_counts
from musebench.unlearn.training import trainer_arguments


def test_batch_counts_and_step_normalisers_sum_over_micro_batches(tmp_path, tiny_model_dir):
    """Two micro-batches: forget windows of 4 and 2 tokens (3 + 1 targets, 6 positions, 2 sequences) and one
    of 3 tokens (2 targets); retain windows of 5 and 5, and 3 tokens."""
    from musebench.models.loading import load_model

    collate = PairCollator(pad_token_id=0)
    first = collate([{"forget": [1, 2, 3, 4], "retain": [1, 2, 3, 4, 5]}, {"forget": [1, 2], "retain": [5] * 5}])
    second = collate([{"forget": [7, 8, 9], "retain": [1, 2, 3]}])
    counts = batch_counts(first)
    assert {k: int(v) for k, v in counts.items()} == {
        "forget_targets": 4,
        "forget_positions": 6,
        "forget_sequences": 2,
        "retain_targets": 8,
        "retain_positions": 10,
        "retain_sequences": 2,
    }
    model = load_model(tiny_model_dir).model
    config = config_for(method="npo_gdr", max_len=16, progress=False)
    args = trainer_arguments(config, tmp_path / "ckpt")
    trainer = NPOTrainer(model=model, args=args, unlearn_config=config, retain="gdr", copy_start_as_reference=True)
    step = trainer.step_normalisers([first, second], torch.device("cpu"))
    assert {k: int(v) for k, v in step.items()} == {
        "forget_targets": 6,
        "forget_positions": 9,
        "forget_sequences": 3,
        "retain_targets": 10,
        "retain_positions": 13,
        "retain_sequences": 3,
    }
    assert trainer.step_normalisers([], torch.device("cpu")) is None

    # the reference: a separate frozen copy of the start weights, on the model's device
    reference, policy = trainer.reference, trainer.model
    assert reference is not policy and not reference.training
    for (name, p), (_, q) in zip(policy.named_parameters(), reference.named_parameters()):
        assert torch.equal(p, q) and p.data_ptr() != q.data_ptr() and p.device == q.device, name
        assert p.requires_grad and not q.requires_grad
    with pytest.raises(ValueError, match="not both"):
        NPOTrainer(model=model, args=args, unlearn_config=config, reference=reference, copy_start_as_reference=True)


def test_ddp_does_not_search_for_unused_parameters(tmp_path):
    """DDP's graph search is off (RMU freezes the layers it does not train; test_ddp runs RMU on 2 processes)."""
    config = config_for(method="rmu", progress=False)
    assert trainer_arguments(config, tmp_path).ddp_find_unused_parameters is False
