"""A written tiny news-mini corpus and a micro recipe that trains in a second or two."""

from __future__ import annotations

import pytest

from musebench.models.mini_corpus import write_mini_corpus
from musebench.models.recipe import BuildRecipe

MICRO = BuildRecipe(
    hidden_size=32,
    num_layers=1,
    num_heads=2,
    intermediate_size=64,
    epochs=1,
    lr=1e-3,
    base_epochs=1,
    batch_size=4,
    block_size=64,
    bf16=False,
)


@pytest.fixture(scope="session")
def mini_data_dir(tmp_path_factory):
    return write_mini_corpus("news-mini", "tiny", 0, tmp_path_factory.mktemp("news_mini") / "data")


@pytest.fixture
def micro_recipe() -> BuildRecipe:
    return MICRO
