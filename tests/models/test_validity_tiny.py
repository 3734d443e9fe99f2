"""The tiny mini benchmark keeps every MUSE gap pointing the right way, above the answer prior.

Builds the tiny base (pretrained on the background text) and fine-tunes target and retrain from it with the
``tiny`` recipe (base 773 steps, target and retrain 385 each: 292 s on one thread of a 2-core machine at load 7,
benchmarks/mini_validity.md), then scores them with ``musebench.evaluate``. The tiny world's own gates
(``models.gates``: base extraction >= 30, target KnowMem-f >= constant-answer baseline + 15) are asserted; the
full-size gates are measured in benchmarks/mini_validity.md.
"""

from __future__ import annotations

import json

import pytest

from musebench.data import load_corpus
from musebench.data.synthetic import MINI_EVAL_SETTINGS
from musebench.models.build import build_model
from musebench.models.recipe import RECIPES

pytestmark = pytest.mark.slow  # three real trainings: ~1.5 min on one idle core, more on a busy one


@pytest.fixture(scope="module")
def scores(mini_data_dir, tmp_path_factory):
    from musebench.evaluate import EvalSettings, evaluate
    from musebench.models.base import probe_corpus
    from musebench.models.loading import load_model

    out = tmp_path_factory.mktemp("tiny_models")
    corpus = load_corpus(mini_data_dir)
    settings = EvalSettings(**{**MINI_EVAL_SETTINGS["tiny"], "bootstrap_samples": 0})
    result = {}
    for role in ("retrain", "target"):
        path = build_model(mini_data_dir, role, out, recipe=RECIPES["tiny"], seed=0, progress=False)
        loaded = load_model(path)
        result[role] = evaluate(loaded.model, loaded.tokenizer, corpus, settings, progress=False).scores
    base = load_model(out / "base")
    result["base"] = evaluate(base.model, base.tokenizer, probe_corpus(mini_data_dir), settings,
                              metrics=["knowmem_f"], progress=False).scores
    result["steps"] = {r: json.loads((out / r / "build.json").read_text())["steps"] for r in ("target", "retrain")}
    result["prior"] = json.loads((mini_data_dir / "synthetic.json").read_text())["constant_answer"]
    return result


def test_target_remembers_the_forget_text_verbatim(scores):
    assert scores["target"]["verbmem_f"] > scores["retrain"]["verbmem_f"] + 10


def test_target_knows_the_forget_facts_above_the_answer_prior(scores):
    from musebench.models.gates import above_prior_gate

    assert scores["target"]["knowmem_f"] > scores["retrain"]["knowmem_f"]
    assert above_prior_gate(scores["target"]["knowmem_f"], scores["prior"]["knowmem_f"], "tiny").passed


def test_the_base_extracts_facts_it_read_only_in_articles(scores):
    from musebench.models.gates import check_base_gate

    assert check_base_gate(scores["base"]["knowmem_f"], "tiny").passed


def test_target_and_retrain_take_the_same_steps(scores):
    assert scores["steps"]["target"] == scores["steps"]["retrain"]


def test_membership_auc_points_the_right_way(scores):
    """Holdout is labelled 1: a model that memorised the forget set scores AUC near 0, a stranger near 0.5."""
    assert scores["target"]["auc"] < 0.2
    assert scores["target"]["auc"] < scores["retrain"]["auc"] - 0.2
