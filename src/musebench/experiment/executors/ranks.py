"""``accelerate launch -m musebench.cli run EXP.yaml`` (or torchrun): one experiment, every process taking part.

Every process walks the same stages. The main process decides what is cached (its answer is broadcast),
writes stage markers, ``results.json``, the corpus and the report, and holds the run lock; the others
wait for its answers. Unlearning runs on all processes as one data-parallel (or FSDP / ZeRO-3) job, and each
evaluation is sharded across them (``evaluate/sharding.py``), so nothing runs N times and nothing is written
twice. Building target / retrain inside a multi-process launch is refused: build them first (``musebench
build``, one process or its own launch) and name them under ``models:``.
"""

from __future__ import annotations

from pathlib import Path

from musebench.errors import ConfigError
from musebench.experiment.executors import SerialExecutor


class RankExecutor(SerialExecutor):
    name = "ranks"

    def __init__(self, shard, device: str | None = None):
        self.shard = shard
        self.device = device  # this process's device (cuda:LOCAL_RANK on GPUs)

    @property
    def is_main(self) -> bool:
        return self.shard.is_main

    def wrap_backend(self, backend, run_dir):
        return RankBackend(backend, self.shard, self.device)


class RankBackend:
    def __init__(self, inner, shard, device: str | None):
        self.inner, self.shard = inner, shard
        if device is not None and hasattr(inner, "device"):
            inner.device = device

    def __getattr__(self, name: str):  # load_corpus, count_tokens, versions, validate_method
        return getattr(self.inner, name)

    def prepare_corpus(self, spec, out_dir: Path) -> Path:
        return Path(self.shard.from_main(lambda: str(self.inner.prepare_corpus(spec, out_dir))))

    def build_model(self, data_dir, role, out_dir, recipe, seed, base=None):
        raise ConfigError(
            f"cannot build the {role} model inside a multi-process launch; build it first "
            f"(musebench build {role} ...) and give its directory under models:",
            field=f"models.{role}",
        )

    def evaluate(self, model_path, corpus, settings, metrics, retrain_auc, checkpoint, save_dir=None):
        from musebench.evaluate.sharding import sharded_evaluation

        with sharded_evaluation(self.shard):
            return self.inner.evaluate(
                model_path, corpus, settings, metrics, retrain_auc, checkpoint, save_dir if self.shard.is_main else None
            )

    def unlearn(self, *args):
        return self.inner.unlearn(*args)  # every process: one distributed training job

    def build_report(self, run_dir):
        return self.shard.from_main(lambda: self.inner.build_report(run_dir))
