"""NPO_KLR under FSDP1, FSDP2 and ZeRO-3 on 2 gloo CPU processes (FSDP with RAM-efficient loading on),
through the real Trainer.

``accelerate launch`` with an FSDP config (``fsdp_cpu_ram_efficient_loading: true``; FSDP1 with
``sync_module_states``) runs the worker, which lets accelerate's FSDP path run on CPU processes
(``fsdp_unlearn_worker.fsdp_on_cpu``; accelerate itself turns FSDP on CPU into plain data parallelism). The
process group exists before the model loads (as under ``musebench run`` in a launch), and rank 1 loads no
weights (FSDP1: every parameter on ``meta``; FSDP2: uninitialised values), as RAM-efficient loading allows.
Required: at the first training step the trained model and the frozen reference (copied from rank 1's empty
start model) hold rank 0's weights on both ranks (checksum of the full gathered weights = the start model's),
the reference is sharded like the model, and the 5 steps give the losses and final weights of 1 process x
batch 2 (the splits' last windows are short, as in ``test_ddp.py``). ZeRO-3 runs on DeepSpeed's own CPU
accelerator (``DS_ACCELERATOR=cpu``, gloo) when deepspeed is installed; CI does not install it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from musebench.data import Corpus
from musebench.unlearn import config_for, run_unlearning
from musebench.unlearn.data import token_windows

WORKER = Path(__file__).with_name("fsdp_unlearn_worker.py")
MAX_LEN = 16


def worker_module():
    spec = importlib.util.spec_from_file_location("fsdp_unlearn_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def launch_config(kind: str) -> str:
    """An accelerate launch config on 2 CPU processes: FSDP1 / FSDP2 with RAM-efficient loading, or ZeRO-3."""
    head = (
        "compute_environment: LOCAL_MACHINE\nnum_processes: 2\nnum_machines: 1\nmachine_rank: 0\n"
        "mixed_precision: 'no'\nrdzv_backend: static\nsame_network: true\nmain_training_function: main\n"
    )
    if kind == "zero3":  # use_cpu would turn DeepSpeed off: DS_ACCELERATOR=cpu puts it on the CPU instead
        return head + (
            "distributed_type: DEEPSPEED\nuse_cpu: false\ndeepspeed_config:\n  zero_stage: 3\n"
            "  zero3_init_flag: false\n  zero3_save_16bit_model: true\n"
            "  offload_optimizer_device: none\n  offload_param_device: none\n"
        )
    version = int(kind[-1])
    extra = {
        1: "  fsdp_sync_module_states: true\n  fsdp_use_orig_params: true\n",
        2: "  fsdp_reshard_after_forward: true\n",
    }[version]
    return head + (
        "distributed_type: FSDP\nuse_cpu: true\nfsdp_config:\n"
        f"  fsdp_version: {version}\n  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP\n"
        "  fsdp_transformer_layer_cls_to_wrap: LlamaDecoderLayer\n  fsdp_state_dict_type: FULL_STATE_DICT\n"
        "  fsdp_cpu_ram_efficient_loading: true\n  fsdp_offload_params: false\n" + extra
    )


def config_values(batch_size: int) -> dict:
    return {
        "method": "npo_klr",
        "num_train_epochs": 1,
        "learning_rate": 1e-3,
        "per_device_train_batch_size": batch_size,
        "max_len": MAX_LEN,
        "use_cpu": True,
        "progress": False,
        "seed": 3,
        "save_strategy": "no",
    }


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
    run_unlearning(
        tiny_model_dir,
        Corpus(name="fsdp", forget=forget, retain1=retain),
        config_for(**config_values(batch_size=2)),
        tmp / "one",
    )
    return corpus_json, tmp / "one"


HAS_DEEPSPEED = importlib.util.find_spec("deepspeed") is not None


@pytest.mark.parametrize(
    "kind",
    [
        "fsdp1",
        "fsdp2",
        pytest.param(
            "zero3",
            marks=pytest.mark.skipif(
                not HAS_DEEPSPEED, reason="deepspeed is not installed (pip install 'musebench[zero3]')"
            ),
        ),
    ],
)
def test_npo_klr_sharded_on_two_cpu_processes_matches_one_process(
    kind, one_process, tiny_model_dir, tmp_path, launch_two
):
    corpus_json, one = one_process
    config = tmp_path / f"{kind}_cpu.yaml"
    config.write_text(launch_config(kind))
    runs_json = tmp_path / "runs.json"
    runs_json.write_text(json.dumps({"npo_klr": config_values(batch_size=1)}))
    launch_two(
        [WORKER, tiny_model_dir, corpus_json, tmp_path / "two", runs_json], config=config, env={"DS_ACCELERATOR": "cpu"}
    )

    two = tmp_path / "two" / "npo_klr"
    record = json.loads((two / "run.json").read_text())["data"]
    kind_name = "DEEPSPEED" if kind == "zero3" else "FSDP"
    assert (record["distributed"], record["processes"], record["steps_per_epoch"]) == (kind_name, 2, 5)
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
    if kind == "fsdp1":  # RAM-efficient loading: rank 1 loaded no weights at all (every parameter on meta)
        assert ranks[1]["loaded"]["meta"] == ranks[1]["loaded"]["params"] > 0
    elif kind == "fsdp2":  # uninitialised values
        assert ranks[1]["loaded"]["meta"] == 0 and ranks[1]["loaded"]["checksum"] != expected
    # FSDP2 shards in place; under ZeRO-3 the reference is loaded again, partitioned (it cannot be copied)
    wrapper = {"fsdp1": "FullyShardedDataParallel", "fsdp2": "FSDPLlamaForCausalLM", "zero3": "DeepSpeedEngine"}[kind]
    assert ranks[0]["reference_class"] == ranks[0]["model_class"] == wrapper

    reference, curve = step_losses(one), step_losses(two)
    assert len(curve) == len(reference) == 5 and len({round(x, 3) for x in reference}) > 3
    loss_diff = max(abs(a - b) for a, b in zip(reference, curve))
    weight_diff = largest_weight_difference(one / "epoch-1", two / "epoch-1")
    print(f"{kind} 2 processes vs 1: max loss diff {loss_diff:.2e}, max weight diff {weight_diff:.2e}")
    assert loss_diff < 1e-4 and weight_diff < 1e-4
