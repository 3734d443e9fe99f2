"""``results.json`` of a run (schema in docs/architecture.md), rewritten atomically as stages finish."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from musebench.errors import check_schema
from musebench.io import atomic_write_json, read_json

SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"


class ResultsDoc:
    """The run's results as a dict; every ``set_*`` call rewrites the file so a crash loses nothing done."""

    def __init__(self, run_dir: str | Path, name: str):
        self.path = Path(run_dir) / RESULTS_FILE
        self.data: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "name": name, "corpus": {},
                                     "provenance": {}, "retrain_auc": None, "reference": {}, "methods": {},
                                     "timing_s": {}}

    def save(self) -> Path:
        return atomic_write_json(self.path, self.data)

    def set_corpus(self, name: str, fingerprint: str, source: str) -> None:
        self.data["corpus"] = {"name": name, "fingerprint": fingerprint, "source": source}
        self.save()

    def set_provenance(self, versions: dict[str, str], seed: int, eval_settings: dict[str, Any],
                       config: dict[str, Any]) -> None:
        import torch

        self.data["provenance"] = {**versions, "seed": seed, "torch_threads": torch.get_num_threads(),
                                   "eval_settings": eval_settings, "experiment": config,
                                   "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self.save()

    def set_reference(self, role: str, evaluation: dict[str, Any], model: str) -> None:
        self.data["reference"][role] = {"model": model, **evaluation}
        self.save()

    def set_retrain_auc(self, auc: float, source: str) -> None:
        self.data["retrain_auc"] = auc
        self.data["retrain_auc_source"] = source
        self.save()

    def method(self, name: str) -> dict[str, Any]:
        return self.data["methods"].setdefault(name, {})

    def set_method(self, name: str, entry: dict[str, Any]) -> None:
        self.method(name).update(entry)
        self.save()

    def set_follow_up(self, name: str, key: str, rows: list[dict[str, Any]]) -> None:
        self.method(name)[key] = rows
        self.save()

    def set_robustness(self, doc: dict[str, Any]) -> None:
        """C7: attacks, controls and recoveries (``musebench.robustness.summary``)."""
        self.data["robustness"] = doc
        self.save()

    def set_timing(self, **timings: float) -> None:
        self.data["timing_s"].update({k: round(v, 2) for k, v in timings.items()})
        self.save()


def read_results(path: str | Path) -> dict[str, Any]:
    """Load a run's results from its directory or its ``results.json``."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    data = read_json(path, missing="no results.json here (is this a `musebench run` output directory?)")
    check_schema(data, SCHEMA_VERSION, path, "results file")
    return data
