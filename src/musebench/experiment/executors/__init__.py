"""How an experiment's stages are executed: one after another in this process, or as Ray tasks.

The runner hands an executor independent *lines* of work (each main method; each C5 fold of a follow-up
method; each method's C6 chain of requests, which stay in order) and a few independent calls (building target
and retrain). ``SerialExecutor`` runs them in order and stops at the first error, as ``musebench run`` always
has. ``RayExecutor`` (``musebench run --executor ray``, extra ``musebench[ray]``) runs every line at once
from driver threads while each heavy call of a stage (unlearning, an evaluation, a model build) is a Ray task
with the resources it declares; Ray's scheduler decides how many run side by side. Stage markers are still
written by the driver under the run directory, which is how the stage cache is shared: outputs live there and
a re-run redoes only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from musebench.errors import ConfigError


@dataclass
class LineFailure:
    """A line that stopped: the stage that failed (after its retry), why, and where its log is."""

    line: str
    stage: str | None
    error: str
    log: str | None
    attempts: int

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "stage": self.stage, "error": self.error, "log": self.log, "attempts": self.attempts}


class SerialExecutor:
    """Everything in this process, in order; the first error stops the run (and is raised)."""

    name = "serial"
    parallel = False
    retries = 0
    is_main = True
    shard = None

    def wrap_backend(self, backend, run_dir):
        return backend

    def map(self, calls: list[Callable[[], Any]]) -> list[Any]:
        return [call() for call in calls]

    def run_lines(self, lines: list[tuple[str, Callable[[], Any]]]) -> list[LineFailure]:
        for _, fn in lines:
            fn()
        return []

    def close(self) -> None:
        pass


def make_executor(
    kind: str,
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    stage_cpus: float = 1.0,
    stage_gpus: float | None = None,
    device: str = "auto",
    dtype: str = "auto",
    threads: int | None = None,
):
    """``serial`` or ``ray``; a clear error when Ray is asked for and not installed."""
    if kind == "serial":
        return SerialExecutor()
    if kind == "ray":
        from musebench.experiment.executors.ray_tasks import RayExecutor

        return RayExecutor(
            address=address,
            num_cpus=num_cpus,
            stage_cpus=stage_cpus,
            stage_gpus=stage_gpus,
            device=device,
            dtype=dtype,
            threads=threads,
        )
    raise ConfigError("expected serial or ray", field="--executor", value=kind)


__all__ = ["LineFailure", "SerialExecutor", "make_executor"]
