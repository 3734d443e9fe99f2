"""A tiny corpus directory (the session corpus in the release layout) for the attack command."""

from __future__ import annotations

import pytest

from musebench.data.layout import save_corpus


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory, tiny_corpus):
    return save_corpus(tiny_corpus, tmp_path_factory.mktemp("tiny_data"))
