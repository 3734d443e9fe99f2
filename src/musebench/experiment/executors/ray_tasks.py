"""Experiment stages as Ray tasks (``musebench run EXP.yaml --executor ray [--address HOST:PORT]``).

The driver (this process) keeps the experiment's logic: stage keys, markers, selection, ``results.json``.
Every heavy backend call (a model build, an unlearning run, an evaluation) becomes one Ray task declaring
``stage_cpus`` CPUs and ``stage_gpus`` GPUs; the task builds its own ``LibraryBackend`` in the worker and
writes its outputs and its log (``<run>/logs/<stage>.log``) into the run directory, which every worker must
see (one machine, or a shared file system). Lines run from driver threads, so independent stages run side by
side as far as the cluster's resources allow, while a line's own stages (unlearn, then its evaluations, then
selection; C6 request k after k-1) keep their order. A failing stage is retried once by the stage store; if
it fails again, its line is reported (``results.json: failed``) and the other lines go on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from musebench.errors import ConfigError, MusebenchError
from musebench.experiment.executors import LineFailure
from musebench.experiment.stages import StageFailed

logger = logging.getLogger(__name__)


class StageTaskError(RuntimeError):
    """A Ray task of a stage failed; ``log`` is the stage's log file."""

    def __init__(self, message: str, log: str | None):
        super().__init__(message)
        self.log = log


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise ConfigError(
            "the Ray executor needs Ray: pip install 'musebench[ray]'", field="--executor", value="ray"
        ) from err
    return ray


def log_path(run_dir: Path, out_dir: str | Path | None, fallback: str) -> Path:
    """``<run>/logs/<stage path with / as __>.log`` for a stage writing into ``out_dir``."""
    name = fallback
    if out_dir is not None:
        try:
            name = str(Path(out_dir).resolve().relative_to(Path(run_dir).resolve()))
        except ValueError:
            name = Path(out_dir).name
    return Path(run_dir) / "logs" / (re.sub(r"[^A-Za-z0-9_.-]+", "__", name) + ".log")


def stage_task(device: str, dtype: str, threads: int, call: str, log: str, *args):
    """What a Ray worker runs for one stage call: its own backend, its output and log in the run directory."""
    import torch

    from musebench.experiment.adapters import LibraryBackend

    torch.set_num_threads(max(1, int(threads)))
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        handler = logging.StreamHandler(fh)
        logging.getLogger().addHandler(handler)
        fh.write(
            f"=== {call} attempt at {time.strftime('%Y-%m-%dT%H:%M:%S%z')} (pid {os.getpid()}, "
            f"{torch.get_num_threads()} torch threads)\n"
        )
        fh.flush()
        try:
            return getattr(LibraryBackend(device, dtype, progress=False), call)(*args)
        except BaseException:
            traceback.print_exc(file=fh)
            raise
        finally:
            logging.getLogger().removeHandler(handler)


class RayBackend:
    """The ``Backend`` the runner sees: cheap calls here, heavy ones as Ray tasks."""

    def __init__(self, executor: RayExecutor, run_dir: Path):
        from musebench.experiment.adapters import LibraryBackend

        self.executor = executor
        self.run_dir = Path(run_dir)
        self.local = LibraryBackend(executor.device, executor.dtype, progress=False)
        self._corpus_refs: dict[int, Any] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str):  # prepare_corpus, load_corpus, count_tokens, ...
        return getattr(self.local, name)

    def _corpus(self, corpus):
        with self._lock:
            if id(corpus) not in self._corpus_refs:  # sent to the object store once, not with every task
                self._corpus_refs[id(corpus)] = (corpus, self.executor.ray.put(corpus))
            return self._corpus_refs[id(corpus)][1]

    def _remote(self, call: str, out_dir, *args):
        """Run ``LibraryBackend.<call>(*args)`` as a task (arguments top level, so Ray resolves object refs)."""
        ex = self.executor
        log = log_path(self.run_dir, out_dir, call)
        ref = ex.task.options(num_cpus=ex.stage_cpus, num_gpus=ex.stage_gpus, max_retries=0).remote(
            ex.device, ex.dtype, ex.threads, call, str(log), *args
        )
        try:
            return ex.ray.get(ref)
        except Exception as err:  # RayTaskError (the stage raised), WorkerCrashedError, ...
            cause = getattr(err, "cause", None) or err
            text = str(cause).strip().splitlines()
            raise StageTaskError(f"{type(cause).__name__}: {text[-1] if text else ''}", str(log)) from err

    def build_model(self, data_dir, role, out_dir, recipe, seed, base=None):
        return Path(
            self._remote("build_model", self.run_dir / "build" / role, data_dir, role, out_dir, recipe, seed, base)
        )

    def evaluate(self, model_path, corpus, settings, metrics, retrain_auc, checkpoint, save_dir=None):
        return self._remote(
            "evaluate", save_dir, model_path, self._corpus(corpus), settings, metrics, retrain_auc, checkpoint, save_dir
        )

    def unlearn(self, model_path, corpus, fields, out_dir, forget_split, reference_path, resume):
        return self._remote(
            "unlearn", out_dir, model_path, self._corpus(corpus), fields, out_dir, forget_split, reference_path, resume
        )


class RayExecutor:
    """Lines in driver threads, stage calls as Ray tasks; starts a local Ray instance unless ``address``."""

    name = "ray"
    parallel = True
    retries = 1
    is_main = True
    shard = None

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        stage_cpus: float = 1.0,
        stage_gpus: float | None = None,
        device: str = "auto",
        dtype: str = "auto",
        threads: int | None = None,
    ):
        ray = _import_ray()
        self.ray = ray
        self.device, self.dtype = device, dtype
        self.started = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, object_store_memory=256 * 1024**2
                )
            self.started = True
        gpus_known = ray.cluster_resources().get("GPU", 0)
        wants_gpu = device.startswith("cuda") or (device == "auto" and gpus_known > 0)
        self.stage_gpus = float(stage_gpus if stage_gpus is not None else (1 if wants_gpu else 0))
        self.stage_cpus = float(stage_cpus)
        if self.stage_gpus > gpus_known:
            self.close()
            raise ConfigError(
                f"stages ask for {self.stage_gpus:g} GPU each but the Ray cluster has {gpus_known:g}",
                field="--stage-gpus",
                value=self.stage_gpus,
            )
        self.threads = int(threads or max(1, int(self.stage_cpus)))
        self.task = ray.remote(stage_task)

    def wrap_backend(self, backend, run_dir):
        return RayBackend(self, Path(run_dir))

    def map(self, calls: list[Callable[[], Any]]) -> list[Any]:
        """Independent calls side by side; the first error is raised (what follows depends on them all)."""
        if len(calls) <= 1:
            return [c() for c in calls]
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [pool.submit(c) for c in calls]
            return [f.result() for f in futures]

    def run_lines(self, lines: list[tuple[str, Callable[[], Any]]]) -> list[LineFailure]:
        """Every line at once; a line that fails is reported and the others finish."""
        if not lines:
            return []
        failures: list[LineFailure] = []
        with ThreadPoolExecutor(max_workers=len(lines)) as pool:
            futures = {pool.submit(fn): name for name, fn in lines}
            for future, name in futures.items():
                try:
                    future.result()
                except StageFailed as err:
                    failures.append(_failure(name, err))
                except MusebenchError:
                    raise  # bad input, not a failed stage: one clear error, as in a serial run
        return sorted(failures, key=lambda f: [n for n, _ in lines].index(f.line))

    def close(self) -> None:
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
            self.started = False


def _failure(line: str, err: StageFailed) -> LineFailure:
    cause = err.__cause__ or err
    log = getattr(cause, "log", None)
    print(f"stage failed: {err.stage} after {err.attempts} attempts: {cause} (log: {log})", file=sys.stderr)
    return LineFailure(line=line, stage=err.stage, error=str(cause), log=log, attempts=err.attempts)
