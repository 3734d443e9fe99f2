"""Task Vector and WHP in one experiment share one fine-tuned model, as MUSE did: it is trained once."""

from __future__ import annotations

import json
from pathlib import Path

from musebench.cli import main

EXPERIMENT = """\
name: shared-ft
device: cpu
corpus: {{path: {data}}}
models: {{target: {model}, retrain: {model}}}
eval:
  checkpoints: selection
  metrics: [knowmem_f]
  retrain_auc: 0.5
  settings: {{knowmem_max_new_tokens: 3, knowmem_num_shots: 1, bootstrap_samples: 10}}
method_defaults: {{num_train_epochs: 1, learning_rate: 1.0e-3, per_device_train_batch_size: 2, max_len: 16, progress: false, save_strategy: "no"}}
methods:
  task_vector: {{alphas: [1, 4]}}
  whp: {{alphas: [2]}}
"""


def test_task_vector_and_whp_fine_tune_once(tmp_path, tiny_experiment, monkeypatch):
    from musebench.unlearn import training

    fine_tunes = []
    real = training.train

    def counting(model_dir, corpus, config, out_dir, **kwargs):
        if config.method == "finetune":
            fine_tunes.append(Path(out_dir))
        return real(model_dir, corpus, config, out_dir, **kwargs)

    monkeypatch.setattr(training, "train", counting)  # ensure_finetuned's call goes through here
    exp = tiny_experiment(EXPERIMENT)
    out = tmp_path / "run"
    assert main(["run", str(exp), "--out", str(out), "--threads", "1", "--no-report"]) == 0

    assert len(fine_tunes) == 1 and fine_tunes[0].parent == out / "finetuned"
    runs = {m: json.loads((out / "methods" / m / "run.json").read_text()) for m in ("task_vector", "whp")}
    used = {m: (out / "methods" / m / r["finetuned"]).resolve() for m, r in runs.items()}
    assert used["task_vector"] == used["whp"] and used["whp"].is_relative_to(fine_tunes[0].resolve())
    whp_spec = json.loads((out / "methods" / "whp" / "alpha-2" / "whp.json").read_text())
    assert (out / "methods" / "whp" / "alpha-2" / whp_spec["finetuned"]).resolve() == used["whp"]
    assert not (out / "methods" / "task_vector" / "finetuned").exists()
    results = json.loads((out / "results.json").read_text())
    assert {"task_vector", "whp"} <= set(results["methods"])

    # --force redoes every stage: θ_ft is trained again, still once for both methods
    assert main(["run", str(exp), "--out", str(out), "--threads", "1", "--no-report", "--force"]) == 0
    assert len(fine_tunes) == 2 and fine_tunes[1] == fine_tunes[0]
