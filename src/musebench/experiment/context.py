"""What every part of a run shares: config, backend, stage store, results, corpus, reference scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musebench.experiment.adapters import Backend
from musebench.experiment.config import ExperimentConfig
from musebench.experiment.results import ResultsDoc
from musebench.experiment.stages import StageStore


@dataclass(frozen=True)
class ModelRef:
    """A model a stage starts from: where it is, the key of what produced it, how to load it."""

    path: str
    key: str
    checkpoint: bool = False  # an unlearning checkpoint (loaded with ``load_unlearned``: WHP too)


@dataclass
class RunContext:
    cfg: ExperimentConfig
    run_dir: Path
    backend: Backend
    store: StageStore
    results: ResultsDoc
    data_dir: Path | None = None  # the corpus as a release directory
    corpus: Any = None  # musebench.data.Corpus
    corpus_key: str = ""
    eval_settings: dict[str, Any] = field(default_factory=dict)
    retrain_auc: float | None = None
    target: ModelRef | None = None
    retrain: ModelRef | None = None
    target_scores: dict[str, float] = field(default_factory=dict)
    retrain_scores: dict[str, float] = field(default_factory=dict)
    selected: dict[str, ModelRef] = field(default_factory=dict)  # method name -> its selected checkpoint
    # target / method -> per-question scores (criterion -> list): C7's paired bootstrap resamples them
    items: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def relative(self, path: str | Path) -> str:
        """Paths inside the run directory are stored relative to it, so a run directory can be moved."""
        p = Path(path)
        try:
            return str(p.resolve().relative_to(self.run_dir.resolve()))
        except ValueError:
            return str(p)

    def absolute(self, stored: str) -> str:
        p = Path(stored)
        return str(p if p.is_absolute() else self.run_dir / p)
