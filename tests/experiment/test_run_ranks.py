"""``accelerate launch -m musebench.cli run`` with 2 gloo CPU processes: one experiment, not two.

Unlearning runs as one 2-process data-parallel job (run.json says processes: 2), evaluations are sharded,
the main process alone writes markers and results.json (sharded evaluation equals one process:
tests/evaluate/test_sharded.py)."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DDP_CPU = REPO / "configs" / "accelerate" / "ddp_cpu.yaml"
EXPERIMENT = """\
name: ranks
device: cpu
corpus: {{path: {data}}}
models: {{target: {model}, retrain: {model}}}
eval:
  metrics: [verbmem_f, knowmem_f, knowmem_r, privleak, privacy]  # suite: opt-in
  settings: {{verbmem_max_new_tokens: 6, verbmem_gt_max_tokens: 6, knowmem_max_new_tokens: 4,
             knowmem_num_shots: 1, privleak_max_length: 48, bootstrap_samples: 20}}
method_defaults: {{num_train_epochs: 2, learning_rate: 1.0e-3, per_device_train_batch_size: 1, max_len: 24, progress: false}}
methods:
  npo_gdr: {{}}
sustainability: {{methods: [npo_gdr]}}
"""


def test_accelerate_launch_run_is_one_experiment_on_two_processes(tmp_path, tiny_experiment, launch_two):
    exp = tiny_experiment(EXPERIMENT)
    two = tmp_path / "two"
    done = launch_two(
        ["-m", "musebench.cli", "run", exp, "--out", two, "--threads", "1", "--no-report"],
        config=DDP_CPU,
        env={"MUSEBENCH_CACHE": str(tmp_path / "cache")},
        timeout=600,
    )
    assert done.stdout.count("results:") == 1  # one process reported
    record = json.loads((two / "methods" / "npo_gdr" / "run.json").read_text())
    assert record["data"]["processes"] == 2 and record["data"]["distributed"] == "MULTI_CPU"
    ranks = json.loads((two / "results.json").read_text())
    assert ranks["executor"] == "ranks" and "failed" not in ranks
    summary = json.loads((two / "methods" / "npo_gdr" / "eval" / "epoch-1" / "summary.json").read_text())
    assert (
        len(summary["provenance"]["requests_by_process"]) == 2 and min(summary["provenance"]["requests_by_process"]) > 0
    )

    npo = ranks["methods"]["npo_gdr"]
    assert [c["label"] for c in npo["checkpoints"]][:1] == ["epoch-1"] and npo["selected"].startswith("epoch-")
    assert [r["request"] for r in npo["sustainability"]] == [1, 2]
    assert set(ranks["reference"]) == {"target", "retrain"}
    markers = sorted(p.name for p in (two / "stages").iterdir())
    assert "methods__npo_gdr__unlearn.json" in markers and len(markers) >= 8  # written once, by the main process
