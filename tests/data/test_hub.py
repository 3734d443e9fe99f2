"""The hub path: the real ``datasets`` loaders on local parquet files / saved datasets, never the network."""

from __future__ import annotations

import dataclasses

import pytest

datasets = pytest.importorskip("datasets")

from musebench.data import MissingDataWarning, load_corpus
from musebench.data.hub import MissingSplit, hub_dataset_loader, load_hub_corpus, local_dataset_loader
from musebench.errors import DataError


def hub_tables(corpus, old_names: bool = False) -> dict[str, dict[str, dict[str, list]]]:
    """config -> split -> columns, as the release publishes them (text / prompt,gt / question,answer)."""

    def docs(values):
        return {"text": list(values)}

    def qa(pairs):
        return {"question": [p.question for p in pairs], "answer": [p.answer for p in pairs]}

    retain = "retain2" if old_names else "retain"
    return {
        "raw": {
            "forget": docs(corpus.forget),
            "retain1": docs(corpus.retain1),
            "retain2": docs(corpus.retain2),
            "holdout": docs(corpus.holdout),
        },
        "verbmem": {
            "forget": {
                "prompt": [r.prompt for r in corpus.verbmem_forget],
                "gt": [r.gt for r in corpus.verbmem_forget],
            }
        },
        "knowmem": {
            "forget_qa": qa(corpus.knowmem_forget_qa),
            f"{retain}_qa": qa(corpus.knowmem_retain_qa),
            "forget_qa_icl": qa(corpus.knowmem_forget_qa_icl),
            f"{retain}_qa_icl": qa(corpus.knowmem_retain_qa_icl),
        },
        "privleak": {
            "forget": docs(corpus.privleak_forget),
            retain: docs(corpus.privleak_retain),
            "holdout": docs(corpus.privleak_holdout),
        },
        "scal": {f"forget_{k}": docs(v) for k, v in corpus.scal.items()},
        "sust": {f"forget_{k}": docs(v) for k, v in corpus.sust.items()},
    }


def write_parquet_tree(tables, root):
    for config, splits in tables.items():
        (root / config).mkdir(parents=True, exist_ok=True)
        for split, columns in splits.items():
            datasets.Dataset.from_dict(columns).to_parquet(str(root / config / f"{split}.parquet"))
    return root


def write_saved_tree(tables, root):
    for config, splits in tables.items():
        datasets.DatasetDict({s: datasets.Dataset.from_dict(c) for s, c in splits.items()}).save_to_disk(
            str(root / config)
        )
    return root


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """Keep the datasets cache of these tests inside tmp_path."""
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def test_parquet_directory_loads_through_load_dataset(tmp_path, tiny_corpus, hf_cache):
    root = write_parquet_tree(hub_tables(tiny_corpus), tmp_path / "MUSE-Tiny")
    corpus = load_corpus(root)
    assert corpus.name == "MUSE-Tiny" and corpus.source == str(root)
    assert corpus.fingerprint() == tiny_corpus.fingerprint()
    assert hf_cache.exists()  # it really went through datasets.load_dataset("parquet", ...)


def test_saved_datasets_with_older_split_names(tmp_path, tiny_corpus):
    root = write_saved_tree(hub_tables(tiny_corpus, old_names=True), tmp_path / "saved")
    corpus = load_corpus(root, name="tiny")
    assert corpus == dataclasses.replace(tiny_corpus, source=str(root))


def test_hub_name_with_injected_loader(tmp_path, tiny_corpus, hf_cache):
    root = write_parquet_tree(hub_tables(tiny_corpus), tmp_path / "mirror")
    calls = []
    local = local_dataset_loader(root, cache_dir=str(hf_cache))

    def loader(name, config, split):
        calls.append((name, config, split))
        return local(name, config, split)

    corpus = load_corpus("muse-bench/MUSE-News", dataset_loader=loader)
    assert corpus.name == "MUSE-News" and corpus.source == "muse-bench/MUSE-News"
    assert corpus.fingerprint() == tiny_corpus.fingerprint()
    assert ("muse-bench/MUSE-News", "knowmem", "retain_qa") in calls
    assert ("muse-bench/MUSE-News", "scal", "forget_3") in calls  # probing stops at the first absent fold
    assert ("muse-bench/MUSE-News", "scal", "forget_4") not in calls


def test_missing_configs_warn_and_leave_parts_empty(tmp_path, tiny_corpus):
    tables = hub_tables(tiny_corpus)
    for config in ("scal", "sust", "verbmem"):
        del tables[config]
    root = write_saved_tree(tables, tmp_path / "books-like")
    with pytest.warns(MissingDataWarning) as record:
        corpus = load_corpus(root)
    text = " ".join(str(w.message) for w in record)
    assert "no config 'scal'" in text and "no config 'verbmem'" in text
    assert "verbmem_f" in text and "scalability" in text and "sustainability" in text
    assert corpus.scal == {} and corpus.verbmem_forget == []
    assert corpus.criteria() == ["knowmem_f", "knowmem_r", "privleak"]


def test_config_map_renames_configs(tmp_path, tiny_corpus):
    tables = hub_tables(tiny_corpus)
    tables["knowmem_v2"] = tables.pop("knowmem")
    root = write_saved_tree(tables, tmp_path / "renamed")
    corpus = load_corpus(root, hub_config_map={"knowmem": "knowmem_v2"})
    assert corpus.knowmem_forget_qa == tiny_corpus.knowmem_forget_qa


def test_missing_column_names_split_and_field(tmp_path, tiny_corpus):
    tables = hub_tables(tiny_corpus)
    tables["knowmem"]["forget_qa"] = {"question": ["q?"], "reply": ["a"]}
    root = write_saved_tree(tables, tmp_path / "bad")
    with pytest.raises(DataError) as info:
        load_corpus(root)
    assert info.value.field == "answer"
    assert "[config 'knowmem', split 'forget_qa']" in info.value.file
    assert "columns: question, reply" in info.value.message


def test_missing_required_split(tmp_path, tiny_corpus):
    tables = hub_tables(tiny_corpus)
    del tables["raw"]["retain2"]
    root = write_saved_tree(tables, tmp_path / "noretain")
    with pytest.raises(DataError, match="split 'retain2'.*required split is missing"):
        load_corpus(root)


def test_any_datasets_failure_becomes_one_data_error():
    def broken(name, config, split):
        raise ConnectionError("offline")

    with pytest.raises(DataError) as info:
        load_hub_corpus("muse-bench/MUSE-News", loader=broken)
    assert str(info.value) == (
        "muse-bench/MUSE-News [config 'raw', split 'forget']: could not load: ConnectionError: offline"
    )


def test_real_hub_loader_offline_is_a_data_error(monkeypatch):
    """The default path calls datasets.load_dataset(name, config, split=...); offline it fails cleanly."""
    seen = []

    def fake_load_dataset(name, config, split=None, **kwargs):
        seen.append((name, config, split))
        if config == "verbmem":
            raise ValueError("BuilderConfig 'verbmem' not found. Available: ['raw']")
        if split == "retain1":
            raise ValueError("Unknown split \"retain1\". Should be one of ['forget'].")
        raise OSError("couldn't reach the hub")

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    loader = hub_dataset_loader()
    with pytest.raises(MissingSplit) as missing_config:
        loader("muse-bench/MUSE-News", "verbmem", "forget")
    assert missing_config.value.config
    with pytest.raises(MissingSplit) as missing_split:
        loader("muse-bench/MUSE-News", "raw", "retain1")
    assert not missing_split.value.config
    with pytest.raises(
        DataError, match="no local directory of that name, and as a hub dataset: could not load: OSError"
    ):
        load_corpus("muse-bench/MUSE-News")
    assert seen[-1] == ("muse-bench/MUSE-News", "raw", "forget")
