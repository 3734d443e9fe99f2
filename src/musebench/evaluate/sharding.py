"""Evaluation split across processes (``accelerate launch`` / ``torchrun``): plan once, compute a share, gather.

Every process plans the same batches from the same requests (planning is deterministic), computes only the
batches assigned to it, and all processes then exchange what they computed, so each holds every output and
the metrics are computed identically everywhere; only the main process writes files. A batch is never split
or regrouped, so each output is computed from exactly the same rows as in one process: per-example outputs
are bit-identical to a single-process run with the same thread count. Cache hits are read by the main
process and broadcast, so every process agrees on what is left to do even when the cache directory is not
shared between machines.

Sharding is switched on explicitly (``sharded_evaluation()``, which ``musebench eval`` uses when launched
with several processes): a training job that evaluates on its main process only must not wait for peers.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shard:
    """This process's place among ``world`` evaluating processes (rank 0 is the main one)."""

    rank: int = 0
    world: int = 1

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def assign(self, costs: list[float]) -> list[int]:
        """Owner rank of each work item: longest first to the least loaded rank (ties: lowest rank);
        the same on every process because it depends only on ``costs``."""
        owners = [0] * len(costs)
        if not self.active:
            return owners
        loads = [(0.0, r) for r in range(self.world)]
        for i in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
            load, rank = heapq.heappop(loads)
            owners[i] = rank
            heapq.heappush(loads, (load + costs[i], rank))
        return owners

    def from_main(self, produce: Callable[[], Any]) -> Any:
        """``produce()`` run on the main process, its result sent to every process."""
        if not self.active:
            return produce()
        import torch.distributed as dist

        box = [produce() if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, mine: dict) -> dict:
        """The union of every process's ``mine`` (keys are disjoint), on every process."""
        if not self.active:
            return dict(mine)
        import torch.distributed as dist

        parts: list[Any] = [None] * self.world
        dist.all_gather_object(parts, mine)
        merged: dict = {}
        for part in parts:
            merged.update(part)
        return merged

    def total(self, value: int) -> int:
        if not self.active:
            return value
        return sum(self.gather({self.rank: value}).values())


_active: Shard = Shard()


def current_shard() -> Shard:
    """The shard evaluation runs in now (one process unless ``sharded_evaluation`` is active)."""
    return _active


@contextlib.contextmanager
def sharded_evaluation(shard: Shard | None = None) -> Iterator[Shard]:
    """Split evaluations across the initialised ``torch.distributed`` group (or ``shard``) inside the block."""
    global _active
    if shard is None:
        shard = process_group_shard()
    previous, _active = _active, shard
    try:
        yield shard
    finally:
        _active = previous


def init_from_environment(device: str) -> tuple[Shard, str]:
    """Join the process group ``accelerate launch`` / ``torchrun`` describe in the environment (``WORLD_SIZE``,
    ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``/``PORT``): NCCL with one GPU per process on CUDA, gloo on CPU.
    Returns this process's shard and device (``device`` unchanged when launched as one process)."""
    import os

    import torch
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Shard(), device
    if device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return Shard(dist.get_rank(), dist.get_world_size()), device


def process_group_shard() -> Shard:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return Shard(dist.get_rank(), dist.get_world_size())
    return Shard()
