"""The frozen reference under FSDP2 / ZeRO-3 (``unlearn/reference.py``).

FSDP2 runs for real on 2 gloo CPU processes: rank 1 starts from zeroed weights (as every rank > 0 does under
``fsdp_cpu_ram_efficient_loading``), and after ``prepare_reference`` each rank holds half of the parameters as
DTensor shards and both give rank 0's logits exactly. DeepSpeed is not installed in CI: its config
translation (no optimizer, numbers for ``auto``, ZeRO-3 kept, lower stages -> 0) is checked as a function."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from musebench.unlearn.reference import deepspeed_config_for_reference

WORKER = Path(__file__).with_name("fsdp_reference_worker.py")


def test_fsdp2_reference_is_sharded_and_every_rank_gets_rank_0_weights(tiny_model_dir, tmp_path, launch_two):
    launch_two([WORKER, tiny_model_dir, tmp_path])
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["max_diff"] == 0.0  # the wrapped reference computes what the plain model computes
    assert r1["logits"] == r0["logits"]  # rank 1 (zeroed before wrapping) now holds rank 0's weights
    for r in (r0, r1):
        assert r["sharded"] and r["unsharded"] == [] and r["local_fraction"] == pytest.approx(0.5, abs=0.01)
        assert not r["requires_grad"] and not r["training"]


def test_deepspeed_reference_config_has_no_optimizer_and_no_auto():
    train = {
        "zero_optimization": {
            "stage": 3,
            "offload_optimizer": {"device": "cpu"},
            "stage3_gather_16bit_weights_on_model_save": True,
            "reduce_bucket_size": "auto",
        },
        "optimizer": {"type": "AdamW"},
        "scheduler": {"type": "WarmupLR"},
        "bf16": {"enabled": "auto"},
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "train_batch_size": "auto",
        "gradient_clipping": "auto",
    }
    args = SimpleNamespace(per_device_train_batch_size=2, gradient_accumulation_steps=3, bf16=True, fp16=False)
    cfg = deepspeed_config_for_reference(train, args, world_size=4, hidden_size=64)
    assert "optimizer" not in cfg and "scheduler" not in cfg and "gradient_clipping" not in cfg
    assert (cfg["train_micro_batch_size_per_gpu"], cfg["gradient_accumulation_steps"], cfg["train_batch_size"]) == (
        2,
        3,
        24,
    )
    assert cfg["bf16"] == {"enabled": True}
    zero = cfg["zero_optimization"]
    assert zero["stage"] == 3 and "offload_optimizer" not in zero and zero["reduce_bucket_size"] == 64 * 64
    assert "auto" not in json.dumps(cfg)
    assert train["optimizer"] == {"type": "AdamW"}  # the run's own config is untouched
    zero2 = deepspeed_config_for_reference({"zero_optimization": {"stage": 2}}, args, 4, 64)
    assert zero2["zero_optimization"] == {"stage": 0}  # a frozen model has no optimizer state to shard
