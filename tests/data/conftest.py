"""Fixtures of the data tests: the shared tiny corpus written in the release layout, and small writers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musebench.data import save_corpus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "corpora"


def write_json(path: Path, value) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def write_jsonl(path: Path, values) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(v) + "\n" for v in values), encoding="utf-8")
    return path


@pytest.fixture
def corpus_dir(tmp_path, tiny_corpus) -> Path:
    """The tiny corpus saved by ``save_corpus`` (every part as a .json file)."""
    return save_corpus(tiny_corpus, tmp_path / "tiny")


@pytest.fixture
def minimal_dir(tmp_path) -> Path:
    """Only the required splits: two forget documents, one retain document."""
    root = tmp_path / "minimal"
    write_json(root / "raw" / "forget.json", ["Alpha was born in Kestrel Bay.", "Beta sails the river."])
    write_json(root / "raw" / "retain2.json", ["Gamma makes clocks."])
    return root
