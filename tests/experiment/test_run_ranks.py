"""``accelerate launch -m musebench.cli run`` with 2 gloo CPU processes: one experiment, not two.

Unlearning runs as one 2-process data-parallel job (run.json says processes: 2), evaluations are sharded,
the main process alone writes markers and results.json (sharded evaluation equals one process:
tests/evaluate/test_sharded.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from musebench.data.layout import save_corpus

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

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                reason="torch built without gloo")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_accelerate_launch_run_is_one_experiment_on_two_processes(tmp_path, tiny_corpus, tiny_model_dir):
    data = save_corpus(tiny_corpus, tmp_path / "data")
    exp = tmp_path / "experiment.yaml"
    exp.write_text(EXPERIMENT.format(data=data, model=tiny_model_dir))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "MUSEBENCH_CACHE": str(tmp_path / "cache")}
    two = tmp_path / "two"
    done = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(DDP_CPU), "--num_processes", "2",
         "--main_process_port", str(free_port()), "-m", "musebench.cli", "run", str(exp), "--out", str(two),
         "--threads", "1", "--no-report"], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.count("results:") == 1  # one process reported
    record = json.loads((two / "methods" / "npo_gdr" / "run.json").read_text())
    assert record["data"]["processes"] == 2 and record["data"]["distributed"] == "MULTI_CPU"
    ranks = json.loads((two / "results.json").read_text())
    assert ranks["executor"] == "ranks" and "failed" not in ranks
    summary = json.loads((two / "methods" / "npo_gdr" / "eval" / "epoch-1" / "summary.json").read_text())
    assert len(summary["provenance"]["requests_by_process"]) == 2 and min(summary["provenance"]["requests_by_process"]) > 0

    npo = ranks["methods"]["npo_gdr"]
    assert [c["label"] for c in npo["checkpoints"]][:1] == ["epoch-1"] and npo["selected"].startswith("epoch-")
    assert [r["request"] for r in npo["sustainability"]] == [1, 2]
    assert set(ranks["reference"]) == {"target", "retrain"}
    markers = sorted(p.name for p in (two / "stages").iterdir())
    assert "methods__npo_gdr__unlearn.json" in markers and len(markers) >= 8  # written once, by the main process
