"""The frozen reference model of NPO / *_KLR / RMU under FSDP and DeepSpeed ZeRO-3: built and sharded right.

``accelerator.prepare_model(ref, evaluation_mode=True)`` neither moves nor shards a model under FSDP, so the
reference's forward would meet weights on the host while the inputs are on the GPU; and with
``fsdp_cpu_ram_efficient_loading`` only rank 0 reads real weights, so a reference copied from the start model
before wrapping would hold uninitialised weights on every other rank. Here the reference is wrapped like the
trained model: FSDP2 ``fully_shard`` per decoder layer (accelerate's own ``fsdp2_prepare_model``, which
broadcasts rank 0's full state dict when loading is RAM-efficient), FSDP1 with ``sync_module_states=True``
(rank 0's weights broadcast at wrap time), ZeRO-3 a DeepSpeed engine with the run's ZeRO-3 config and no
optimizer (parameters gathered layer by layer in the forward pass; ZeRO-1/2, which shard only optimizer
state, become stage 0: a full copy per GPU). Under ZeRO-3 the reference cannot be a ``deepcopy`` of the
partitioned start model, so it is loaded from the start model's directory (``needs_fresh_load``).
"""

from __future__ import annotations

import copy

import torch


def needs_fresh_load(accelerator) -> bool:
    """True when the start model cannot be deep-copied into a reference (its parameters are partitioned)."""
    try:
        from transformers.integrations import is_deepspeed_zero3_enabled
    except ImportError:
        return False
    return (
        getattr(accelerator, "distributed_type", None) is not None
        and str(getattr(accelerator.distributed_type, "value", accelerator.distributed_type)) == "DEEPSPEED"
        and is_deepspeed_zero3_enabled()
    )


def prepare_reference(model: torch.nn.Module, accelerator, args) -> torch.nn.Module:
    """Freeze ``model`` and place / shard it the way the trained model is (see the module docstring)."""
    model.eval()
    model.requires_grad_(False)
    kind = str(getattr(accelerator.distributed_type, "value", accelerator.distributed_type))
    if kind == "DEEPSPEED":
        return deepspeed_reference(model, accelerator, args)
    if kind == "FSDP":
        return fsdp_reference(model, accelerator)
    return model.to(args.device)


def fsdp_reference(model: torch.nn.Module, accelerator) -> torch.nn.Module:
    plugin = accelerator.state.fsdp_plugin
    if getattr(accelerator, "is_fsdp2", False) or getattr(plugin, "fsdp_version", 1) == 2:
        from accelerate.utils.fsdp_utils import fsdp2_prepare_model

        wrapped = fsdp2_prepare_model(accelerator, model)  # RAM-efficient loading: rank 0's weights broadcast
    else:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

        plugin.set_auto_wrap_policy(model)
        # accelerate may hold the strategy as reshard_after_forward only (its own FSDP1 wrapping falls back too)
        strategy = plugin.sharding_strategy or getattr(plugin, "reshard_after_forward", None)
        wrapped = FSDP(
            model,
            sharding_strategy=strategy,
            cpu_offload=plugin.cpu_offload,
            auto_wrap_policy=plugin.auto_wrap_policy,
            mixed_precision=plugin.mixed_precision_policy,
            sync_module_states=True,  # every rank gets rank 0's weights, whatever it loaded
            param_init_fn=plugin.param_init_fn,
            use_orig_params=plugin.use_orig_params,
            limit_all_gathers=plugin.limit_all_gathers,
            device_id=accelerator.device,
        )
    wrapped.eval()
    return wrapped


def deepspeed_config_for_reference(train_config: dict, args, world_size: int, hidden_size: int | None) -> dict:
    """The run's DeepSpeed config for an inference-only engine: no optimizer or scheduler, numbers for
    every ``auto``, ZeRO-3 kept (anything lower becomes 0)."""
    config = copy.deepcopy(train_config)
    for key in ("optimizer", "scheduler"):
        config.pop(key, None)
    micro = int(args.per_device_train_batch_size)
    accum = int(args.gradient_accumulation_steps)
    config["train_micro_batch_size_per_gpu"] = micro
    config["gradient_accumulation_steps"] = accum
    config["train_batch_size"] = micro * accum * world_size
    if config.get("gradient_clipping") == "auto":
        config.pop("gradient_clipping")
    for half, flag in (("bf16", bool(args.bf16)), ("fp16", bool(args.fp16))):
        if isinstance(config.get(half), dict) and config[half].get("enabled") == "auto":
            config[half]["enabled"] = flag
    zero = dict(config.get("zero_optimization", {}))
    if zero.get("stage") != 3:
        zero = {"stage": 0}
    else:
        zero = {k: v for k, v in zero.items() if v != "auto"}
        if hidden_size:
            zero.setdefault("reduce_bucket_size", hidden_size * hidden_size)
            zero.setdefault("stage3_param_persistence_threshold", 10 * hidden_size)
            zero.setdefault("stage3_prefetch_bucket_size", int(0.9 * hidden_size * hidden_size))
        zero.pop("offload_optimizer", None)  # nothing to offload: no optimizer
    config["zero_optimization"] = zero
    return config


def deepspeed_reference(model: torch.nn.Module, accelerator, args) -> torch.nn.Module:
    import deepspeed

    plugin = accelerator.state.deepspeed_plugin
    hidden = getattr(getattr(model, "config", None), "hidden_size", None)
    config = deepspeed_config_for_reference(plugin.deepspeed_config, args, accelerator.num_processes, hidden)
    engine, *_ = deepspeed.initialize(model=model, config=config)
    engine.eval()
    return engine


def describe(reference) -> dict | None:
    """What ``run.json`` records of the reference: its wrapper class, whether it is sharded, where it is."""
    if reference is None:
        return None
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # torch without distributed tensors
        DTensor = ()
    params = list(reference.parameters())
    sharded = type(reference).__name__ in ("DeepSpeedEngine", "FullyShardedDataParallel") or any(
        isinstance(p, DTensor) for p in params
    )
    return {
        "class": type(reference).__name__,
        "sharded": bool(sharded),
        "device": str(params[0].device) if params else None,
    }
