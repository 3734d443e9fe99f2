"""One rank of the FSDP2 reference test (launched by torch.distributed.run with 2 gloo processes on CPU).

Rank 1 starts from a reference whose weights are zero, as ranks > 0 hold them under
``fsdp_cpu_ram_efficient_loading``; after ``prepare_reference`` every rank must hold its SHARE of rank 0's
weights (DTensor shards) and give rank 0's logits."""

from __future__ import annotations

import json
import os
import sys
from types import SimpleNamespace

import torch
import torch.distributed as dist
from accelerate.utils import FullyShardedDataParallelPlugin

from musebench.unlearn.reference import prepare_reference


def main(model_dir: str, out: str) -> None:
    from transformers import AutoModelForCausalLM

    os.environ["FSDP_CPU_RAM_EFFICIENT_LOADING"] = "true"
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    ids = torch.tensor([[1, 7, 9, 11, 4, 5]])
    expected = model(input_ids=ids).logits
    if rank > 0:
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()  # what a non-zero rank holds before rank 0's weights arrive
    plugin = FullyShardedDataParallelPlugin(
        fsdp_version=2,
        auto_wrap_policy="transformer_based_wrap",
        transformer_cls_names_to_wrap=["LlamaDecoderLayer"],
        cpu_ram_efficient_loading=True,
        reshard_after_forward=True,
        state_dict_type="FULL_STATE_DICT",
    )
    accelerator = SimpleNamespace(
        distributed_type="FSDP",
        state=SimpleNamespace(fsdp_plugin=plugin),
        is_fsdp2=True,
        device=torch.device("cpu"),
        torch_device_mesh=None,
        mixed_precision="no",
        is_main_process=rank == 0,
        parallelism_config=None,
        num_processes=2,
    )
    ref = prepare_reference(model, accelerator, SimpleNamespace(device=torch.device("cpu")))
    from torch.distributed.tensor import DTensor

    params = list(ref.parameters())  # before any forward (the tail group stays gathered after one)
    local = sum(p.to_local().numel() if isinstance(p, DTensor) else p.numel() for p in params)
    full = sum(p.numel() for p in params)
    unsharded = [n for n, p in ref.named_parameters() if not isinstance(p, DTensor)]
    with torch.no_grad():
        got = ref(input_ids=ids).logits
    report = {
        "rank": rank,
        "max_diff": (got - expected).abs().max().item() if rank == 0 else None,
        "logits": got.reshape(-1)[:50].tolist(),
        "sharded": all(isinstance(p, DTensor) for p in params),
        "unsharded": unsharded,
        "local_fraction": local / full,
        "requires_grad": any(p.requires_grad for p in params),
        "training": ref.training,
    }
    with open(f"{out}/rank{rank}.json", "w") as fh:
        json.dump(report, fh)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
