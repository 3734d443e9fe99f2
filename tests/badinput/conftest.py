"""The intact inputs every bad-input case damages a copy of: a tiny mini corpus and tiny models."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def pristine(tmp_path_factory):
    from badinput_outcome import make_pristine

    return make_pristine(tmp_path_factory.mktemp("pristine"))
