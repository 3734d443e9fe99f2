"""Fingerprints from weight files (marked at load, broken by any change) and the binary per-token cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from musebench.evaluate.cache import ResultCache, read_arrays, write_arrays
from musebench.evaluate.fingerprint import model_fingerprint
from musebench.models import weight_files
from musebench.models.loading import load_model
from musebench.models.weight_files import mark_weights_source, streamed_file_hash, weights_source


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSEBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(weight_files, "_memo", {})


def test_file_hash_is_remembered_by_size_and_mtime(tmp_path):
    f = tmp_path / "w.safetensors"
    f.write_bytes(b"a" * 1000)
    first = streamed_file_hash(f)
    assert first == __import__("hashlib").sha256(b"a" * 1000).hexdigest()
    stat = f.stat()
    f.write_bytes(b"b" * 1000)  # same size, mtime put back: the remembered hash is used, the file not read
    os.utime(f, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    weight_files._memo.clear()  # a new process: the hash comes from the memo directory
    assert streamed_file_hash(f) == first
    os.utime(f, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched: hashed again
    assert streamed_file_hash(f) != first


def test_loaded_model_is_named_by_its_files_until_it_changes(tiny_model_dir):
    a, b = load_model(tiny_model_dir).model, load_model(tiny_model_dir).model
    assert weights_source(a) is not None and model_fingerprint(a) == model_fingerprint(b)
    with torch.no_grad():
        a.lm_head.weight[0, 0] += 1.0  # written in place: no longer the files' weights
    assert weights_source(a) is None
    assert model_fingerprint(a) != model_fingerprint(b)


def test_an_optimizer_step_a_resize_and_a_dtype_break_or_change_the_name(tiny_model_dir):
    model = load_model(tiny_model_dir).model
    before = model_fingerprint(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(input_ids=torch.tensor([[1, 5, 6]]), labels=torch.tensor([[1, 5, 6]])).loss.backward()
    opt.step()
    assert weights_source(model) is None and model_fingerprint(model) != before
    resized = load_model(tiny_model_dir).model
    resized.resize_token_embeddings(resized.get_input_embeddings().weight.shape[0] + 8)
    assert weights_source(resized) is None
    half = load_model(tiny_model_dir, dtype=torch.bfloat16).model
    assert weights_source(half) is not None and model_fingerprint(half) != before


def test_hub_model_key_holds_its_revision(tiny_model_dir):
    model = load_model(tiny_model_dir).model
    mark_weights_source(model, "org/model", revision="a" * 40)
    at_a = model_fingerprint(model)
    mark_weights_source(model, "org/model", revision="b" * 40)
    assert weights_source(model) == {"hub": "org/model", "revision": "b" * 40}
    assert model_fingerprint(model) != at_a


def test_binary_cache_round_trip_and_damaged_files_are_recomputed(tmp_path):
    items = {
        "k1": {"logprobs": np.array([-1.5, -0.25], np.float32), "mu": np.array([1, 2], np.float32)},
        "k2": {"logprobs": np.array([-3.0], np.float32)},
    }
    write_arrays(tmp_path / "b.npz", items)
    back = read_arrays(tmp_path / "b.npz")
    assert set(back) == {"k1", "k2"} and "mu" not in back["k2"]
    np.testing.assert_array_equal(back["k1"]["mu"], [1, 2])
    np.testing.assert_array_equal(back["k2"]["logprobs"], [-3.0])
    cache = ResultCache(tmp_path / "c", {"m": 1})
    cache.store_arrays("g", items)
    assert set(cache.load("g")) == {"k1", "k2"}
    (next((cache.dir / "g").glob("*.npz"))).write_bytes(b"not a zip")
    assert cache.load("g") == {}


def test_files_rewritten_after_the_load_no_longer_name_the_model(tiny_model_dir, tmp_path):
    import shutil

    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "m"))
    model = load_model(copy).model
    assert weights_source(model) is not None
    weights = copy / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 5_000_000))
    assert weights_source(model) is None  # the model in memory is what was loaded, not what is there now
