"""NPO-SAM: the perturbation by hand, the gradient of one step by hand, and exactness under accumulation."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from musebench.errors import ConfigError
from musebench.unlearn import config_for, losses, run_unlearning
from musebench.unlearn.data import PairCollator, group
from musebench.unlearn.methods.npo_sam import NPOSAMTrainer
from musebench.unlearn.training import trainer_arguments


def test_sam_perturbation_by_hand():
    """g = ([3, 0], [[0, 4]]): ||g|| = 5, so delta = rho (0.6, 0, 0, 0.8); zero gradient -> zero offset."""
    grads = [torch.tensor([3.0, 0.0]), torch.tensor([[0.0, 4.0]])]
    delta = losses.sam_perturbation(grads, rho=0.5)
    assert torch.allclose(delta[0], torch.tensor([0.3, 0.0])) and torch.allclose(delta[1], torch.tensor([[0.0, 0.4]]))
    assert grads[0].tolist() == [3.0, 0.0]  # inputs untouched
    assert all(torch.equal(d, torch.zeros(2)) for d in losses.sam_perturbation([torch.zeros(2)], rho=0.5))


def test_config_checks_the_radius():
    with pytest.raises(ConfigError, match="rho"):
        config_for(method="npo_sam", rho=-0.1)
    assert config_for(method="npo_sam_gdr").rho == 0.01


def _npo(model, reference, batch, beta):
    logp = losses.sequence_logprob(
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits, batch["labels"]
    )
    with torch.no_grad():
        ref = losses.sequence_logprob(
            reference(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits, batch["labels"]
        )
    return losses.npo_loss(logp, ref, beta).mean()


def test_one_step_gradient_is_forget_at_perturbed_plus_retain_at_start(tmp_path, tiny_model_dir):
    """Hand-computed: g = grad NPO(theta); delta = rho g/||g||; the step's gradient is grad NPO(theta + delta) +
    alpha grad NLL_retain(theta), and the weights are theta again afterwards, bit for bit."""
    from musebench.models.loading import load_model

    collate = PairCollator(pad_token_id=0)
    batch = collate(
        [
            {"forget": [1, 5, 9, 13, 17, 21], "retain": [1, 30, 31, 32, 33]},
            {"forget": [1, 40, 41, 42], "retain": [1, 50, 51, 52, 53, 54]},
        ]
    )
    model = load_model(tiny_model_dir).model
    config = config_for(method="npo_sam_gdr", max_len=16, progress=False, rho=0.5, alpha=0.7)
    args = trainer_arguments(config, tmp_path / "ckpt")
    trainer = NPOSAMTrainer(model=model, args=args, unlearn_config=config, retain="gdr", copy_start_as_reference=True)
    trainer.create_optimizer_and_scheduler(num_training_steps=1)
    start = [p.detach().clone() for p in model.parameters()]

    samples, counts = trainer.get_batch_samples(iter([batch]), 1, torch.device("cpu"))
    model.zero_grad()
    trainer.training_step(model, samples[0], counts)
    got = [p.grad.clone() for p in model.parameters()]
    assert all(torch.equal(p, s) for p, s in zip(model.parameters(), start))

    hand = load_model(tiny_model_dir).model
    reference = trainer.reference
    forget, retain = group(batch, "forget"), group(batch, "retain")
    g = torch.autograd.grad(_npo(hand, reference, forget, config.beta), list(hand.parameters()))
    delta = losses.sam_perturbation(list(g), 0.5)
    assert abs(torch.linalg.vector_norm(torch.cat([d.reshape(-1) for d in delta])).item() - 0.5) < 1e-5
    with torch.no_grad():
        for p, d in zip(hand.parameters(), delta):
            p.add_(d)
    g_forget = torch.autograd.grad(_npo(hand, reference, forget, config.beta), list(hand.parameters()))
    with torch.no_grad():
        for p, s in zip(hand.parameters(), start):
            p.copy_(s)
    logits = hand(input_ids=retain["input_ids"], attention_mask=retain["attention_mask"]).logits
    g_retain = torch.autograd.grad(losses.nll(logits, retain["labels"]), list(hand.parameters()))
    for mine, f, r in zip(got, g_forget, g_retain):
        assert torch.allclose(mine, f + 0.7 * r, atol=1e-6, rtol=1e-4)
    # the forget gradient at theta + delta is not the one at theta (the perturbation changed something)
    assert max((a - b).abs().max().item() for a, b in zip(g_forget, g)) > 1e-4


def _step_gradient(tmp_path, model_dir, micro_batches, accum):
    """The gradient one optimizer step accumulates over ``micro_batches`` (NPO-SAM_GDR, rho 0.5)."""
    from musebench.models.loading import load_model

    model = load_model(model_dir).model
    config = config_for(
        method="npo_sam_gdr",
        max_len=16,
        progress=False,
        rho=0.5,
        gradient_accumulation_steps=accum,
        per_device_train_batch_size=2 if accum == 1 else 1,
    )
    args = trainer_arguments(config, tmp_path / f"ckpt{accum}")
    trainer = NPOSAMTrainer(model=model, args=args, unlearn_config=config, retain="gdr", copy_start_as_reference=True)
    trainer.create_optimizer_and_scheduler(num_training_steps=1)
    samples, counts = trainer.get_batch_samples(iter(micro_batches), len(micro_batches), torch.device("cpu"))
    model.zero_grad()
    for inputs in samples:
        trainer.training_step(model, inputs, counts)
    return [p.grad.clone() for p in model.parameters()]


def test_accumulation_takes_the_gradient_of_the_larger_batch(tmp_path, tiny_model_dir):
    """delta comes from the whole step's forget gradient, so 1 x accumulation 2 = batch 2 (a per-micro-batch
    perturbation, as in the paper's code, would not be)."""
    collate = PairCollator(pad_token_id=0)
    items = [
        {"forget": [1, 5, 9, 13, 17, 21], "retain": [1, 30, 31, 32, 33]},
        {"forget": [1, 40, 41, 42], "retain": [1, 50, 51, 52, 53, 54]},
    ]
    whole = _step_gradient(tmp_path, tiny_model_dir, [collate(items)], accum=1)
    split = _step_gradient(tmp_path, tiny_model_dir, [collate(items[:1]), collate(items[1:])], accum=2)
    assert max((a - b).abs().max().item() for a, b in zip(whole, split)) < 1e-6
    assert max(a.abs().max().item() for a in whole) > 1e-3


SETTINGS = {
    "num_train_epochs": 1,
    "learning_rate": 1e-3,
    "max_len": 32,
    "progress": False,
    "save_strategy": "no",
    "seed": 1,
    "per_device_train_batch_size": 2,
}


def _weights(run) -> dict[str, torch.Tensor]:
    return load_file(str(run.checkpoints[-1].path / "model.safetensors"))


def test_rho_zero_is_npo_and_rho_moves_the_weights_elsewhere(tmp_path, tiny_model_dir, tiny_corpus):
    """Through run_unlearning: rho 0 gives NPO_GDR's weights bit for bit; rho 0.05 different ones; the run
    logs NPO's loss at theta (forget_loss) and the retain term."""
    runs = {}
    for name, method, rho in (("sam", "npo_sam_gdr", 0.05), ("rho0", "npo_sam_gdr", 0.0), ("npo", "npo_gdr", None)):
        config = config_for(method=method, **({} if rho is None else {"rho": rho}), **SETTINGS)
        runs[name] = run_unlearning(tiny_model_dir, tiny_corpus, config, tmp_path / name)
    w = {name: _weights(run) for name, run in runs.items()}
    start = load_file(str(tiny_model_dir / "model.safetensors"))
    w["start"] = start

    def diff(a, b):
        return max((w[a][k] - w[b][k]).abs().max().item() for k in start)

    assert diff("sam", "start") > 1e-4
    assert diff("rho0", "npo") == 0.0
    assert diff("sam", "npo") > 1e-5
    steps = runs["sam"].history["steps"]
    assert steps and all("forget_loss" in s and "retain_loss" in s for s in steps)
