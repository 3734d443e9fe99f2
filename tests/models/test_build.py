"""build_model: standard HF directory, the right documents per role, cache hit, fold check."""

from __future__ import annotations

import json
import time

import pytest

from musebench.data import load_corpus
from musebench.errors import DataError
from musebench.models.build import build_model, training_documents


def test_roles_train_on_the_right_documents(mini_data_dir):
    corpus = load_corpus(mini_data_dir)
    target = training_documents(corpus, "target")
    retrain = training_documents(corpus, "retrain")
    assert set(retrain) == set(corpus.retain1) | set(corpus.retain2)
    fold_docs = {d for family in (corpus.scal, corpus.sust) for docs in family.values() for d in docs}
    assert fold_docs - set(corpus.forget)  # the folds grow beyond the forget set ...
    assert set(target) == set(retrain) | set(corpus.forget) | fold_docs  # ... and the target reads them all
    assert len(target) == len(set(target))  # fold 1 = forget is not read twice
    assert not fold_docs & set(retrain)
    assert not set(corpus.holdout) & set(target)


def test_the_retrain_reads_one_filler_document_per_forget_side_document(mini_data_dir):
    from musebench.data.synthetic import read_background

    corpus = load_corpus(mini_data_dir)
    filler = read_background(mini_data_dir).filler
    target = training_documents(corpus, "target")
    retrain = training_documents(corpus, "retrain", filler)
    assert len(retrain) == len(target)
    assert set(retrain) == set(corpus.retain1) | set(corpus.retain2) | set(filler)
    with pytest.raises(DataError, match="filler"):
        training_documents(corpus, "retrain", filler[:3])


def test_fold_documents_in_holdout_are_rejected(mini_data_dir):
    corpus = load_corpus(mini_data_dir)
    corpus.sust[2] = corpus.sust[2] + [corpus.holdout[0]]
    with pytest.raises(DataError, match="sust/forget_2"):
        training_documents(corpus, "target")


def test_build_saves_a_loadable_model_and_second_build_is_a_cache_hit(mini_data_dir, micro_recipe, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = build_model(mini_data_dir, "retrain", tmp_path, recipe=micro_recipe, seed=1, progress=False)
    assert out == tmp_path / "retrain"
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert not (out / ".trainer").exists()
    record = json.loads((out / "build.json").read_text())
    assert record["role"] == "retrain" and record["steps"] > 0 and record["recipe"]["hidden_size"] == 32
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.config.hidden_size == 32 and tok.pad_token_id != tok.eos_token_id
    mtime = (out / "model.safetensors").stat().st_mtime_ns

    start = time.perf_counter()
    assert build_model(mini_data_dir, "retrain", tmp_path, recipe=micro_recipe, seed=1) == out
    assert time.perf_counter() - start < 5
    assert (out / "model.safetensors").stat().st_mtime_ns == mtime

    build_model(mini_data_dir, "retrain", tmp_path, recipe=micro_recipe, seed=2, progress=False)
    assert json.loads((out / "build.json").read_text())["key"] != record["key"]


def test_same_seed_gives_same_weights(mini_data_dir, micro_recipe, tmp_path):
    a = build_model(mini_data_dir, "target", tmp_path / "a", recipe=micro_recipe, seed=0, progress=False)
    b = build_model(mini_data_dir, "target", tmp_path / "b", recipe=micro_recipe, seed=0, progress=False)
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()


def test_a_pretrained_base_is_fine_tuned_into_both_roles_for_the_same_steps(
    mini_data_dir, micro_recipe, tiny_model_dir, tmp_path
):
    """``base=``: target and retrain start from the given model (its architecture and tokenizer), not a mini base."""
    from transformers import AutoConfig

    records = {}
    for role in ("target", "retrain"):
        out = build_model(
            mini_data_dir, role, tmp_path, recipe=micro_recipe, seed=0, progress=False, base=str(tiny_model_dir)
        )
        records[role] = json.loads((out / "build.json").read_text())
        assert AutoConfig.from_pretrained(out).hidden_size == AutoConfig.from_pretrained(tiny_model_dir).hidden_size
        assert not (tmp_path / f".{role}.resume").exists()  # the checkpoints go once the model is saved
    assert not (tmp_path / "base").exists()
    assert records["target"]["start"]["kind"] == records["retrain"]["start"]["kind"] == "pretrained"
    assert records["target"]["steps"] == records["retrain"]["steps"]
    assert records["retrain"]["filler_documents"] > 0


def test_the_mini_base_is_built_once_and_its_key_ignores_the_fine_tune_fields(mini_data_dir, micro_recipe, tmp_path):
    build_model(mini_data_dir, "target", tmp_path, recipe=micro_recipe, seed=0, progress=False)
    base = json.loads((tmp_path / "base" / "build.json").read_text())
    longer = micro_recipe.with_overrides({"epochs": 2})
    build_model(mini_data_dir, "retrain", tmp_path, recipe=longer, seed=0, progress=False)
    assert json.loads((tmp_path / "base" / "build.json").read_text())["key"] == base["key"]  # reused
    retrain = json.loads((tmp_path / "retrain" / "build.json").read_text())
    assert retrain["start"]["identity"] == {"mini_base": base["key"]}
