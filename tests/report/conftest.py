"""Fixtures of the report tests: a hand-written sample ``results.json`` and one report built from it.

The sample (``data/results.json``) is a news-mini run: target, retrain, four methods (GA_GDR and NPO_GDR
with C5 over 4 forget sizes and C6 over 4 requests; NPO_KLR and Task Vector without them).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from musebench.report import build_report

SAMPLE = Path(__file__).parent / "data" / "results.json"


@pytest.fixture(scope="session")
def sample_doc() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture()
def doc(sample_doc) -> dict:
    """A private deep copy of the sample to mutate."""
    return copy.deepcopy(sample_doc)


def _write_run(run_dir: Path, doc: dict) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return run_dir


@pytest.fixture(scope="session")
def write_run():
    """``write_run(run_dir, doc) -> run_dir``: save a results document as a run directory."""
    return _write_run


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def built_report(tmp_path_factory) -> Path:
    """The sample's report, built once: returns its ``index.html``."""
    run = tmp_path_factory.mktemp("sample_run")
    (run / "results.json").write_bytes(SAMPLE.read_bytes())
    return build_report(run)
