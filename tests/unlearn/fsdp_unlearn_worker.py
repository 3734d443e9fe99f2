"""Unlearning runs under FSDP on CPU processes, launched by ``test_fsdp_unlearn.py`` (not a test module itself).

Usage: accelerate launch --config_file FSDP_CPU.yaml ... fsdp_unlearn_worker.py MODEL_DIR CORPUS_JSON OUT RUNS_JSON

accelerate runs FSDP only on accelerators: with ``use_cpu: true`` it quietly falls back to CPU data parallelism
(``MULTI_CPU``). ``fsdp_on_cpu`` lifts that for this test only, so the Trainer, musebench's reference
preparation and transformers' RAM-efficient loading run their real FSDP paths over gloo: the accelerator state
becomes ``FSDP`` with the plugin accelerate built from the launch config (device ``cpu``, without the index
accelerate gives CPU processes, which FSDP1 would not match with its own); FSDP1's ``sync_module_states``
materialises meta modules on the CPU (accelerate looks for an accelerator's current device there); and torch's
check that ``sync_module_states`` tensors are not on the CPU is lifted (a check only: the broadcast of rank 0's
weights runs over gloo as it runs over NCCL); and FSDP1's full state dict is gathered without
``offload_to_cpu``, which torch supports only for accelerator tensors.

Each run records, per rank, at its first training step: a checksum of the trained model's and the reference's
full weights (gathered from the shards) and how each is wrapped; ``OUT/<name>/rank<R>.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

WRAPPER_PREFIXES = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.")


def fsdp_on_cpu() -> None:
    """Let accelerate's state become FSDP on CPU processes (it only does so on accelerators)."""
    from accelerate import state as acc_state
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    original_init = acc_state.AcceleratorState.__init__

    def init(self, *args, fsdp_plugin=None, **kwargs):
        original_init(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
        if fsdp_plugin is not None and self.distributed_type == DistributedType.MULTI_CPU:
            # both shared states: every later AcceleratorState() copies PartialState's over its own
            for shared in (self._shared_state, acc_state.PartialState._shared_state):
                shared["distributed_type"] = DistributedType.FSDP
                shared["device"] = torch.device("cpu")  # FSDP1 compares it with torch's CPU device (no index)
            self.fsdp_plugin = fsdp_plugin

    acc_state.AcceleratorState.__init__ = init

    original_post_init = FullyShardedDataParallelPlugin.__post_init__

    def post_init(self):
        if int(self.fsdp_version or os.environ.get("FSDP_VERSION", "1")) == 2:  # FSDP2 asks for no device here
            return original_post_init(self)
        wanted = (
            self.sync_module_states
            or os.environ.get("FSDP_SYNC_MODULE_STATES", "").lower() == "true"
            or os.environ.get("FSDP_CPU_RAM_EFFICIENT_LOADING", "").lower() == "true"
        )
        cpu_ram = os.environ.pop("FSDP_CPU_RAM_EFFICIENT_LOADING", None)
        sync = os.environ.pop("FSDP_SYNC_MODULE_STATES", None)
        try:  # accelerate asks an accelerator for the device that sync_module_states materialises on
            self.sync_module_states = False
            self.cpu_ram_efficient_loading = False
            original_post_init(self)
        finally:
            if cpu_ram is not None:
                os.environ["FSDP_CPU_RAM_EFFICIENT_LOADING"] = cpu_ram
            if sync is not None:
                os.environ["FSDP_SYNC_MODULE_STATES"] = sync
        if wanted:
            self.sync_module_states = True
            self.param_init_fn = lambda module: module.to_empty(device=torch.device("cpu"), recurse=False)
        self.cpu_ram_efficient_loading = cpu_ram is not None and cpu_ram.lower() == "true"

    FullyShardedDataParallelPlugin.__post_init__ = post_init

    # FSDP1 refuses sync_module_states for CPU tensors by a check alone (the broadcast itself runs over gloo)
    from torch.distributed.fsdp import _init_utils

    _init_utils._check_module_states_for_sync_module_states = lambda module_states: None

    # accelerate gathers FSDP1's full state dict with offload_to_cpu=True, which on CPU tensors returns the
    # root unit's local flat shards (or crashes) instead of whole weights: gather without the offload there
    import torch.distributed.fsdp as fsdp

    full_config = fsdp.FullStateDictConfig
    fsdp.FullStateDictConfig = lambda offload_to_cpu=False, rank0_only=False: full_config(rank0_only=rank0_only)


def clean(name: str) -> str:
    for prefix in WRAPPER_PREFIXES:
        name = name.replace(prefix, "")
    return name.removeprefix("module.")  # DeepSpeed's engine holds the model as .module


def full_weights(model) -> dict[str, torch.Tensor]:
    """Every parameter of a (possibly sharded) model, whole, by its plain name."""
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    from torch.distributed.tensor import DTensor

    params = dict(model.named_parameters())
    if any(hasattr(p, "ds_id") for p in params.values()):  # DeepSpeed ZeRO-3: partitioned, gathered here
        import deepspeed

        with deepspeed.zero.GatheredParameters(list(params.values())):
            return {clean(n): p.detach().clone() for n, p in params.items()}
    if isinstance(model, FSDP):
        with FSDP.summon_full_params(model, writeback=False, recurse=True):
            return {clean(n): p.detach().clone() for n, p in model.named_parameters()}
    return {
        clean(n): (p.full_tensor() if isinstance(p, DTensor) else p).detach().clone()
        for n, p in model.named_parameters()
    }


def checksum(weights: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(weights):
        digest.update(name.encode())
        digest.update(weights[name].to(torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def local_fraction(model) -> float:
    from torch.distributed.tensor import DTensor

    params = list(model.parameters())
    local = sum(
        p.ds_tensor.numel()
        if hasattr(p, "ds_tensor")
        else p.to_local().numel()
        if isinstance(p, DTensor)
        else p.numel()
        for p in params
    )
    return local


def record_first_step(out_dir: Path) -> None:
    """Wrap ``UnlearnTrainer.training_step``: at the first step, write this rank's view of both models."""
    from musebench.unlearn.trainer import UnlearnTrainer

    original = UnlearnTrainer.training_step

    def training_step(self, model, inputs, *args, **kwargs):
        if not getattr(self, "_scale_recorded", False):
            self._scale_recorded = True
            rank = int(os.environ.get("RANK", "0"))
            trained, reference = full_weights(model), full_weights(self.reference)
            meta = [n for n, p in self.reference.named_parameters() if p.device.type == "meta"]
            report = {
                "rank": rank,
                "model_class": type(model).__name__,
                "reference_class": type(self.reference).__name__,
                "model_checksum": checksum(trained),
                "reference_checksum": checksum(reference),
                "model_names": sorted(trained),
                "reference_meta": meta,
                "reference_local": local_fraction(self.reference),
                "reference_full": sum(t.numel() for t in reference.values()),
                "loaded": LOADED[-1],
            }
            target = Path(self._scale_out) / f"rank{rank}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(report), encoding="utf-8")
        return original(self, model, inputs, *args, **kwargs)

    UnlearnTrainer.training_step = training_step


def record_loading() -> None:
    """Wrap ``load_model``: note what this rank loaded (RAM-efficient loading: only rank 0 reads the weights)."""
    from musebench.models import loading

    original = loading.load_model

    def load_model(*args, **kwargs):
        loaded = original(*args, **kwargs)
        params = dict(loaded.model.named_parameters())
        meta = sorted(n for n, p in params.items() if p.device.type == "meta")
        LOADED.append(
            {
                "meta": len(meta),
                "params": len(params),
                "checksum": None if meta else checksum({n: p.detach() for n, p in params.items()}),
            }
        )
        return loaded

    loading.load_model = load_model


LOADED: list[dict] = []


def weights_only_on_rank_0() -> None:
    """What RAM-efficient loading allows: ranks > 0 read no weights. transformers 5.24 reads them anyway (only
    keys missing from the checkpoint stay unset), so ranks > 0 are given no weights here: FSDP1 every parameter
    on ``meta`` (the harder case, materialised by ``param_init_fn``), FSDP2 uninitialised CPU tensors
    (accelerate's convention: "non-main ranks only have ``torch.empty``"; its optimizer mapping by ``data_ptr``
    cannot tell ``meta`` tensors apart), filled with a constant so that they cannot pass for rank 0's. Nothing
    of the file can then reach them but by the broadcast."""
    from transformers import AutoModelForCausalLM

    original = AutoModelForCausalLM.from_pretrained.__func__

    def from_pretrained(cls, *args, **kwargs):
        loaded = original(cls, *args, **kwargs)
        if (
            int(os.environ.get("RANK", "0")) > 0
            and os.environ.get("FSDP_CPU_RAM_EFFICIENT_LOADING", "").lower() == "true"
        ):
            model = loaded[0] if isinstance(loaded, tuple) else loaded
            on_meta = os.environ.get("FSDP_VERSION", "1") == "1"
            for module in model.modules():
                for name, param in list(module._parameters.items()):
                    if param is None:
                        continue
                    empty = torch.empty_like(param, device="meta") if on_meta else torch.full_like(param, 0.5)
                    module._parameters[name] = torch.nn.Parameter(empty, requires_grad=param.requires_grad)
        return loaded

    AutoModelForCausalLM.from_pretrained = classmethod(from_pretrained)


def main(model_dir: str, corpus_json: str, out_dir: str, runs_json: str) -> None:
    fsdp_on_cpu()
    torch.set_num_threads(1)
    from musebench.data import Corpus
    from musebench.unlearn import config_for, run_unlearning
    from musebench.unlearn.trainer import UnlearnTrainer

    record_first_step(Path(out_dir))
    record_loading()
    weights_only_on_rank_0()
    # the process group exists before the model loads, as under `musebench run` in a launch and in every run
    # of a launch after its first; only then does transformers' RAM-efficient loading skip the weights on rank > 0
    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
        import deepspeed  # DeepSpeed's own communication layer over the same gloo group

        deepspeed.init_distributed(dist_backend="gloo")
    else:
        torch.distributed.init_process_group("gloo")
    splits = json.loads(Path(corpus_json).read_text(encoding="utf-8"))
    corpus = Corpus(name="fsdp", forget=splits["forget"], retain1=splits["retain1"])
    for name, values in json.loads(Path(runs_json).read_text(encoding="utf-8")).items():
        UnlearnTrainer._scale_out = str(Path(out_dir) / "ranks" / name)
        run_unlearning(model_dir, corpus, config_for(**values), Path(out_dir) / name)


if __name__ == "__main__":
    main(*sys.argv[1:5])
