"""One recipe, one result: the experiment path (``musebench run``) and ``musebench unlearn`` give bit-identical
weights and the same loss and gradient-norm history for the same recipe, seed, threads and start model, although
they differ in ways that must not matter: the experiment loads the NPO reference from the target's directory
where the CLI copies the start model, saves no Trainer checkpoints (``save_strategy: no``) and sets
``use_cpu``."""

from __future__ import annotations

import hashlib
import json

import pytest

from musebench.cli import main

EXPERIMENT = """\
name: same
device: cpu
corpus: {{path: {data}}}
models: {{target: {model}, retrain: {model}}}
eval:
  metrics: [knowmem_f, knowmem_r]
  retrain_auc: 0.5
  settings: {{knowmem_max_new_tokens: 4, knowmem_num_shots: 1, bootstrap_samples: 10}}
method_defaults: {{num_train_epochs: 2, per_device_train_batch_size: 2, max_len: 24, save_strategy: "no"}}
methods:
  npo_gdr: {{learning_rate: 2.0e-3}}
"""


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_run_and_unlearn_give_the_same_weights(tmp_path, tiny_experiment, tiny_model_dir):
    exp = tiny_experiment(EXPERIMENT)
    data = tiny_experiment.data
    assert main(["run", str(exp), "--out", str(tmp_path / "run"), "--threads", "1", "--no-report"]) == 0
    assert (
        main(
            [
                "unlearn",
                "--model",
                str(tiny_model_dir),
                "--data",
                str(data),
                "--method",
                "npo_gdr",
                "--num_train_epochs",
                "2",
                "--per_device_train_batch_size",
                "2",
                "--max_len",
                "24",
                "--learning_rate",
                "2e-3",
                "--threads",
                "1",
                "--out",
                str(tmp_path / "cli"),
            ]
        )
        == 0
    )
    exp_run = json.loads((tmp_path / "run" / "methods" / "npo_gdr" / "run.json").read_text())
    cli_run = json.loads((tmp_path / "cli" / "run.json").read_text())
    assert exp_run["reference"] == str(tiny_model_dir) and cli_run["reference"] is None  # loaded vs copied
    assert exp_run["config"]["save_strategy"] == "no" and cli_run["config"]["save_strategy"] == "epoch"
    steps = [(s["loss"], s["grad_norm"]) for s in exp_run["history"]["steps"]]
    assert steps and steps == [(s["loss"], s["grad_norm"]) for s in cli_run["history"]["steps"]]
    for epoch in ("epoch-1", "epoch-2"):
        assert _digest(tmp_path / "run" / "methods" / "npo_gdr" / epoch / "model.safetensors") == _digest(
            tmp_path / "cli" / epoch / "model.safetensors"
        )
