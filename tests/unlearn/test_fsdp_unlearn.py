"""NPO_KLR under FSDP1 and FSDP2 on 2 gloo CPU processes, RAM-efficient loading on, through the real Trainer.

``accelerate launch`` with an FSDP config (``fsdp_cpu_ram_efficient_loading: true``; FSDP1 with
``sync_module_states``) runs the worker, which lets accelerate's FSDP path run on CPU processes
(``fsdp_unlearn_worker.fsdp_on_cpu``; accelerate itself turns FSDP on CPU into plain data parallelism). The
process group exists before the model loads (as under ``musebench run`` in a launch), and rank 1 loads no
weights (FSDP1: every parameter on ``meta``; FSDP2: uninitialised values), as RAM-efficient loading allows.
Required: at the first training step the trained model and the frozen reference (copied from rank 1's empty
start model) hold rank 0's weights on both ranks (checksum of the full gathered weights = the start model's),
the reference is sharded like the model, and the 5 steps give the losses and final weights of 1 process x
batch 2 (the splits' last windows are short, as in ``test_ddp.py``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from musebench.data import Corpus
from musebench.unlearn import UnlearnConfig, run_unlearning
from musebench.unlearn.data import token_windows

WORKER = Path(__file__).with_name("fsdp_unlearn_worker.py")
MAX_LEN = 16

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                reason="torch built without gloo")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_module():
    spec = importlib.util.spec_from_file_location("fsdp_unlearn_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fsdp_cpu_config(version: int) -> str:
    """An accelerate launch config: FSDP ``version`` on 2 CPU processes, RAM-efficient loading on."""
    extra = {1: "  fsdp_sync_module_states: true\n  fsdp_sharding_strategy: FULL_SHARD\n  fsdp_use_orig_params: true\n",
             2: "  fsdp_reshard_after_forward: true\n"}[version]
    return ("compute_environment: LOCAL_MACHINE\ndistributed_type: FSDP\nuse_cpu: true\nnum_processes: 2\n"
            "num_machines: 1\nmachine_rank: 0\nmixed_precision: 'no'\nrdzv_backend: static\nsame_network: true\n"
            "main_training_function: main\nfsdp_config:\n"
            f"  fsdp_version: {version}\n  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP\n"
            "  fsdp_transformer_layer_cls_to_wrap: LlamaDecoderLayer\n  fsdp_state_dict_type: FULL_STATE_DICT\n"
            "  fsdp_cpu_ram_efficient_loading: true\n  fsdp_offload_params: false\n" + extra)


def config_values(batch_size: int) -> dict:
    return {"method": "npo_klr", "epochs": 1, "lr": 1e-3, "batch_size": batch_size, "max_len": MAX_LEN,
            "device": "cpu", "progress": False, "seed": 3, "checkpoint_steps": -1}


def step_losses(run_dir: Path) -> list[float]:
    return [s["loss"] for s in json.loads((run_dir / "run.json").read_text())["history"]["steps"]]


def largest_weight_difference(a: Path, b: Path) -> float:
    w_a, w_b = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert w_a.keys() == w_b.keys()
    return max((w_a[k] - w_b[k]).abs().max().item() for k in w_a)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, tiny_model_dir, tiny_corpus, tiny_tokenizer):
    """The splits (10 forget windows, the last 3 tokens long) and the 1 process x batch 2 run of them."""
    tmp = tmp_path_factory.mktemp("fsdp_one")
    forget = tiny_corpus.forget + tiny_corpus.retain1
    retain = tiny_corpus.retain2 + tiny_corpus.holdout
    assert len(token_windows(forget, tiny_tokenizer, MAX_LEN)) == 10
    corpus_json = tmp / "corpus.json"
    corpus_json.write_text(json.dumps({"forget": forget, "retain1": retain}))
    run_unlearning(tiny_model_dir, Corpus(name="fsdp", forget=forget, retain1=retain),
                   UnlearnConfig(**config_values(batch_size=2)), tmp / "one")
    return corpus_json, tmp / "one"


@pytest.mark.parametrize("version", [1, 2])
def test_npo_klr_under_fsdp_with_ram_efficient_loading_matches_one_process(version, one_process, tiny_model_dir,
                                                                           tmp_path):
    corpus_json, one = one_process
    config = tmp_path / f"fsdp{version}_cpu.yaml"
    config.write_text(fsdp_cpu_config(version))
    runs_json = tmp_path / "runs.json"
    runs_json.write_text(json.dumps({"npo_klr": config_values(batch_size=1)}))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config), "--num_processes", "2",
         "--main_process_port", str(free_port()), str(WORKER), str(tiny_model_dir), str(corpus_json),
         str(tmp_path / "two"), str(runs_json)],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    (tmp_path / "launch.log").write_text(done.stderr)
    start = done.stderr.find("Traceback")
    assert done.returncode == 0, done.stderr[start:][-6000:] if start >= 0 else done.stderr[-6000:]

    two = tmp_path / "two" / "npo_klr"
    record = json.loads((two / "run.json").read_text())["data"]
    assert (record["distributed"], record["processes"], record["steps_per_epoch"]) == ("FSDP", 2, 5)
    assert record["reference"]["sharded"] and record["reference"]["device"] == "cpu"

    worker = worker_module()
    from transformers import AutoModelForCausalLM

    start_model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    expected = worker.checksum(worker.full_weights(start_model))
    ranks = [json.loads((tmp_path / "two" / "ranks" / "npo_klr" / f"rank{r}.json").read_text()) for r in (0, 1)]
    for r in ranks:
        assert r["model_checksum"] == expected, f"rank {r['rank']}: the trained model does not hold rank 0's weights"
        assert r["reference_checksum"] == expected, f"rank {r['rank']}: the reference does not hold rank 0's weights"
        assert r["reference_meta"] == []
        assert r["model_names"] == sorted(n for n, _ in start_model.named_parameters())
        assert r["reference_local"] < 0.75 * r["reference_full"]  # each rank holds a share: sharded
    # what RAM-efficient loading gave: rank 0 the file's weights, rank 1 none
    assert ranks[0]["loaded"]["checksum"] == expected and ranks[0]["loaded"]["meta"] == 0
    if version == 1:  # rank 1 loaded no weights at all (every parameter on meta)
        assert ranks[1]["loaded"]["meta"] == ranks[1]["loaded"]["params"] > 0
    else:  # uninitialised values
        assert ranks[1]["loaded"]["meta"] == 0 and ranks[1]["loaded"]["checksum"] != expected
    wrapper = {1: "FullyShardedDataParallel", 2: "FSDPLlamaForCausalLM"}[version]  # FSDP2 shards in place
    assert ranks[0]["reference_class"] == ranks[0]["model_class"] == wrapper

    reference, curve = step_losses(one), step_losses(two)
    assert len(curve) == len(reference) == 5 and len({round(x, 3) for x in reference}) > 3
    loss_diff = max(abs(a - b) for a, b in zip(reference, curve))
    weight_diff = largest_weight_difference(one / "epoch-1", two / "epoch-1")
    print(f"FSDP{version} 2 processes vs 1: max loss diff {loss_diff:.2e}, max weight diff {weight_diff:.2e}")
    assert loss_diff < 1e-4 and weight_diff < 1e-4
