"""An interrupted run resumed with ``resume=True`` ends with exactly the weights of an uninterrupted one."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from musebench.errors import ConfigError
from musebench.unlearn import config_for, losses, run_unlearning

# batch 1: 3 forget windows -> 3 steps per epoch; 2 epochs; a Trainer checkpoint after every step
CONFIG = {
    "method": "ga_gdr",
    "num_train_epochs": 2,
    "learning_rate": 1e-3,
    "per_device_train_batch_size": 1,
    "max_len": 32,
    "save_strategy": "steps",
    "save_steps": 1,
    "progress": False,
}
CALLS_PER_STEP = 2  # forget NLL + retain NLL


def weights(run_dir, label):
    return load_file(run_dir / label / "model.safetensors")


def test_resume_after_interruption_matches_uninterrupted_run(trained_model_dir, tiny_corpus, tmp_path, monkeypatch):
    full = run_unlearning(trained_model_dir, tiny_corpus, config_for(**CONFIG), tmp_path / "full")
    assert json.loads(full.run_json.read_text())["data"]["steps_per_epoch"] == 3

    real_nll, calls = losses.nll, []

    def interrupted_nll(logits, labels, normaliser=None):
        calls.append(1)
        if len(calls) > 4 * CALLS_PER_STEP:  # crash inside step 5 (epoch 2), after checkpoint-4
            raise KeyboardInterrupt
        return real_nll(logits, labels, normaliser)

    monkeypatch.setattr(losses, "nll", interrupted_nll)
    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        run_unlearning(trained_model_dir, tiny_corpus, config_for(**CONFIG), out)
    assert (out / "epoch-1").is_dir() and not (out / "epoch-2").exists()
    assert (out / "checkpoints" / "checkpoint-4").is_dir()
    resumed_calls = []

    def counting_nll(logits, labels, normaliser=None):
        resumed_calls.append(1)
        return real_nll(logits, labels, normaliser)

    monkeypatch.setattr(losses, "nll", counting_nll)
    with pytest.raises(ConfigError, match=r"learning_rate 0.001 -> 0.002"):
        run_unlearning(
            trained_model_dir, tiny_corpus, config_for(**{**CONFIG, "learning_rate": 2e-3}), out, resume=True
        )
    # fields that never change the weights (``WEIGHTLESS``) may differ: the device, the bar, trackers
    relaxed = {**CONFIG, "use_cpu": True, "keep_checkpoints": True, "report_to": "none", "dataloader_num_workers": 0}
    resumed = run_unlearning(trained_model_dir, tiny_corpus, config_for(**relaxed), out, resume=True)
    assert len(resumed_calls) == 2 * CALLS_PER_STEP  # only steps 5 and 6 ran again

    assert [c.label for c in resumed.checkpoints] == ["epoch-1", "epoch-2"]
    for label in ("epoch-1", "epoch-2"):
        a, b = weights(tmp_path / "full", label), weights(out, label)
        assert all(torch.allclose(a[k], b[k], atol=1e-6, rtol=0) for k in a), label
    losses_full = [s["loss"] for s in full.history["steps"]]
    losses_resumed = [s["loss"] for s in resumed.history["steps"]]
    assert losses_resumed == pytest.approx(losses_full, abs=1e-6)
    assert json.loads(resumed.run_json.read_text())["status"] == "complete"
    again = run_unlearning(trained_model_dir, tiny_corpus, config_for(**CONFIG), out, resume=True)
    assert again.status == "complete" and [c.label for c in again.checkpoints] == ["epoch-1", "epoch-2"]
