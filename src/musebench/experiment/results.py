"""The run's ``results.json``, built from ``musebench.results`` records and rewritten atomically as stages finish.

The one writer of the file: every ``set_*`` call replaces part of the ``Results`` record and saves it, so a
crash loses nothing done. Readers (report, ``musebench run``'s table, ``musebench compare``) go through
``musebench.results.load_results`` and get the same types back.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from musebench.criteria import FOLLOW_UPS
from musebench.io import atomic_write_json
from musebench.results import (
    RESULTS_FILE,
    SCHEMA_VERSION,
    FailedLine,
    FollowUp,
    MethodResult,
    Reference,
    Results,
    load_results,
    read_robustness,
)

__all__ = ["RESULTS_FILE", "SCHEMA_VERSION", "ResultsDoc", "read_results"]


class ResultsDoc:
    """The ``Results`` of a run in progress; ``data`` is what the file holds."""

    def __init__(self, run_dir: str | Path, name: str):
        self.path = Path(run_dir) / RESULTS_FILE
        self.record = Results(name=name)
        # C5 / C6 rows of a method whose main request has not finished yet (lines running side by side)
        self._pending: dict[str, dict[str, tuple[FollowUp, ...]]] = {}

    @property
    def data(self) -> dict[str, Any]:
        return self.record.to_dict()

    def save(self) -> Path:
        return atomic_write_json(self.path, self.record.to_dict())

    def _update(self, **changes: Any) -> None:
        self.record = dataclasses.replace(self.record, **changes)
        self.save()

    def set_corpus(self, name: str, fingerprint: str, source: str) -> None:
        self._update(corpus={"name": name, "fingerprint": fingerprint, "source": source})

    def set_provenance(
        self, versions: dict[str, Any], seed: int, eval_settings: dict[str, Any], config: dict[str, Any]
    ) -> None:
        import torch

        self._update(
            provenance={
                **versions,
                "seed": seed,
                "torch_threads": torch.get_num_threads(),
                "eval_settings": eval_settings,
                "experiment": config,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
        )

    def set_reference(self, role: str, evaluation: dict[str, Any], model: str) -> None:
        self._update(**{role: Reference.from_evaluation(evaluation, model=model)})

    def set_retrain_auc(self, auc: float, source: str) -> None:
        self._update(retrain_auc=auc, retrain_auc_source=source)

    def method(self, name: str) -> MethodResult | None:
        return self.record.methods.get(name)

    def set_method(self, result: MethodResult) -> None:
        """A method's main request; C5 / C6 rows that arrived before it are attached."""
        result = dataclasses.replace(result, **self._pending.pop(result.name, {}))
        self._update(methods={**self.record.methods, result.name: result})

    def set_follow_up(self, name: str, key: str, rows: Sequence[FollowUp]) -> None:
        """C5 (``scalability``) or C6 (``sustainability``) rows of method ``name``, in order."""
        if key not in FOLLOW_UPS:
            raise ValueError(f"unknown follow-up block {key!r}")
        method = self.method(name)
        if method is None:
            self._pending.setdefault(name, {})[key] = tuple(rows)
            return
        self._update(methods={**self.record.methods, name: dataclasses.replace(method, **{key: tuple(rows)})})

    def order_methods(self, names: Sequence[str]) -> None:
        """Put the methods in ``names``' order (the experiment file's), the rest after them."""
        methods = self.record.methods
        order = [n for n in names if n in methods] + [n for n in methods if n not in names]
        self._update(methods={n: methods[n] for n in order})

    def set_robustness(self, doc: dict[str, Any]) -> None:
        """C7: attacks, controls and recoveries (``musebench.robustness.summary``), checked into records as a
        reader would (a non-finite recovery is an error here, not in the report)."""
        self._update(robustness=read_robustness(doc, self.path, list(self.record.methods)))

    def set_timing(self, **timings: float) -> None:
        self._update(timing_s={**self.record.timing_s, **{k: round(v, 2) for k, v in timings.items()}})

    def set_outcome(self, executor: str, failed: Sequence[dict[str, Any]]) -> None:
        """How the lines ran, and the ones that failed after their retries."""
        self._update(executor=executor, failed=tuple(FailedLine(**f) for f in failed))

    def set_report(self, relative_dir: str) -> None:
        self._update(report=relative_dir)


def read_results(path: str | Path) -> Results:
    """A run's results from its directory or its ``results.json``, also while the run is still going."""
    return load_results(path, complete=False)
