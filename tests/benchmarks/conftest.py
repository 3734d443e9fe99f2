"""Benchmark scripts (``benchmarks/*.py``) are not a package: ``load_script(name)`` imports one by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_script():
    return _load


@pytest.fixture(scope="session")
def sample_results() -> Path:
    """The report tests' hand-written ``results.json`` (target, retrain, four methods)."""
    return ROOT / "tests" / "report" / "data" / "results.json"
