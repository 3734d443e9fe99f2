"""The mini base shipped in the package: it is the quick demo world's, it is copied only on an exact key match,
``force`` pretrains instead, and a damaged copy is refused before anything is written."""

from __future__ import annotations

import json
import shutil

import pytest

from musebench.errors import DataError
from musebench.models import build as build_module
from musebench.models import shipped as shipped_module
from musebench.models.base import base_key, build_base
from musebench.models.mini_corpus import write_mini_corpus
from musebench.models.recipe import RECIPES
from musebench.models.shipped import MANIFEST, file_sha256, find_shipped_base, write_manifest


@pytest.mark.parametrize("size", ["tiny", "default"])
def test_the_demo_worlds_bases_ship_with_the_package_and_match_their_manifests(size, tmp_path):
    """Fails when the generator, tokenizer or a recipe changes without a re-shipped base
    (``python benchmarks/shipped_base.py --size SIZE --write``): the demo would silently pretrain again."""
    data = write_mini_corpus("news-mini", size, 0, tmp_path / "data")
    key = base_key(data, RECIPES[size], seed=0)[0]
    found = find_shipped_base(key)
    assert found is not None, f"no shipped base has key {key}; run benchmarks/shipped_base.py --size {size} --write"
    assert found.name == f"news-mini-{size}-seed0"
    manifest = json.loads((found / MANIFEST).read_text(encoding="utf-8"))
    assert {name: file_sha256(found / name) for name in manifest["sha256"]} == manifest["sha256"]
    record = json.loads((found / "build.json").read_text(encoding="utf-8"))
    assert record["key"] == key and record["seed"] == 0 and record["role"] == "base"
    assert record["recipe"]["base_epochs"] == RECIPES[size].base_epochs


def test_another_seed_or_recipe_has_no_shipped_base(mini_data_dir):
    assert find_shipped_base(base_key(mini_data_dir, RECIPES["tiny"], seed=1)[0]) is None
    longer = RECIPES["tiny"].with_overrides({"base_epochs": 31})
    assert find_shipped_base(base_key(mini_data_dir, longer, seed=0)[0]) is None
    # the fine-tune's own fields are not in the base's key, so they still find it
    other_finetune = RECIPES["tiny"].with_overrides({"epochs": 3, "lr": 1e-4})
    assert find_shipped_base(base_key(mini_data_dir, other_finetune, seed=0)[0]) is not None


@pytest.fixture
def fake_shipped(mini_data_dir, micro_recipe, tmp_path, monkeypatch):
    """A shipped root holding a micro-recipe base built here, in place of the package's."""
    built = build_base(mini_data_dir, tmp_path / "first", micro_recipe, seed=0, progress=False)
    root = tmp_path / "shipped"
    copy = root / "news-mini-micro-seed0"
    copy.mkdir(parents=True)
    for f in built.iterdir():
        if f.is_file() and not f.name.startswith("."):
            shutil.copyfile(f, copy / f.name)
    key = json.loads((built / "build.json").read_text(encoding="utf-8"))["key"]
    write_manifest(copy, key, {"command": "test"})
    monkeypatch.setattr(shipped_module, "SHIPPED_DIR", root)
    return copy


def _no_training(*args, **kwargs):
    raise AssertionError("pretrained although a shipped base has this key")


def test_a_matching_shipped_base_is_copied_not_trained(
    mini_data_dir, micro_recipe, fake_shipped, tmp_path, monkeypatch
):
    with monkeypatch.context() as patched:
        patched.setattr(build_module, "train_and_save", _no_training)
        out = build_base(mini_data_dir, tmp_path / "second", micro_recipe, seed=0, progress=False)
    assert (out / "model.safetensors").read_bytes() == (fake_shipped / "model.safetensors").read_bytes()
    record = json.loads((out / "build.json").read_text(encoding="utf-8"))
    assert record["shipped"]["name"] == "news-mini-micro-seed0"
    assert not (out / MANIFEST).exists()
    # a target fine-tuned from it is an ordinary build keyed by the base's key
    target = build_module.build_model(
        mini_data_dir, "target", tmp_path / "second", recipe=micro_recipe, seed=0, progress=False
    )
    start = json.loads((target / "build.json").read_text(encoding="utf-8"))["start"]
    assert start["identity"] == {"mini_base": record["key"]}


def test_force_pretrains_even_when_a_base_ships(mini_data_dir, micro_recipe, fake_shipped, tmp_path, monkeypatch):
    monkeypatch.setattr(build_module, "train_and_save", _no_training)
    with pytest.raises(AssertionError, match="pretrained although"):
        build_base(mini_data_dir, tmp_path / "forced", micro_recipe, seed=0, progress=False, force=True)


def test_a_damaged_shipped_base_is_refused_and_nothing_is_written(mini_data_dir, micro_recipe, fake_shipped, tmp_path):
    weights = fake_shipped / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(DataError, match="damaged") as err:
        build_base(mini_data_dir, tmp_path / "third", micro_recipe, seed=0, progress=False)
    assert "model.safetensors" in str(err.value)
    assert not (tmp_path / "third" / "base").exists()


@pytest.mark.parametrize("size", ["tiny", "default"])
def test_each_shipped_base_passes_its_worlds_extraction_gate(size, tmp_path):
    """The shipped weights answer the held-out probe questions (read only in articles) above the size's gate:
    a copy that loads but lost its training would fail here, not give the demo a base that looks real."""
    from musebench.data.synthetic import MINI_EVAL_SETTINGS
    from musebench.evaluate import EvalSettings, evaluate
    from musebench.models.base import probe_corpus
    from musebench.models.gates import BASE_GATE
    from musebench.models.loading import load_model

    data = write_mini_corpus("news-mini", size, 0, tmp_path / "data")
    assert find_shipped_base(base_key(data, RECIPES[size], seed=0)[0]) is not None  # never pretrain 722 s here
    base = load_model(build_base(data, tmp_path / "models", RECIPES[size], seed=0, progress=False))
    settings = EvalSettings(**{**MINI_EVAL_SETTINGS[size], "bootstrap_samples": 0})
    scores = evaluate(base.model, base.tokenizer, probe_corpus(data), settings, metrics=["knowmem_f"], progress=False)
    assert scores.scores["knowmem_f"] >= BASE_GATE[size]
