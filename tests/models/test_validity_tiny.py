"""The tiny mini benchmark keeps every MUSE gap pointing the right way, with target and retrain fine-tuned alike.

Builds the tiny base (pretrained on the background text) and fine-tunes target and retrain from it with the
``tiny`` recipe (base 780 steps, target and retrain 395 each: 372 s on one thread of a 2-core machine at load
average 9-10, benchmarks/mini_validity.md), then scores them with ``musebench.evaluate``. Only the direction of
each gap is asserted here: the tiny world's own gates (``models.gates``: base extraction >= 30, target KnowMem-f
>= constant-answer baseline + 15) are measured per seed in benchmarks/mini_validity.md, where seed 0 does not yet
meet the second (target KnowMem-f 12.5 against a 15.6 baseline).
"""

from __future__ import annotations

import json

import pytest

from musebench.data import load_corpus
from musebench.data.synthetic import MINI_EVAL_SETTINGS
from musebench.models.build import build_model
from musebench.models.recipe import RECIPES

pytestmark = pytest.mark.slow  # three real trainings: ~1.5 min on one idle core (estimated), 6 min at load 9


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


def test_target_knows_the_forget_facts(scores):
    assert scores["target"]["knowmem_f"] > scores["retrain"]["knowmem_f"]


def test_the_base_answers_questions_it_never_trained_on(scores):
    """Above the constant-answer level of its world (the probe people's facts come from the same pools)."""
    assert scores["base"]["knowmem_f"] > scores["prior"]["knowmem_f"]


def test_target_and_retrain_take_the_same_steps(scores):
    assert scores["steps"]["target"] == scores["steps"]["retrain"]


def test_membership_auc_points_the_right_way(scores):
    """Holdout is labelled 1: a model that memorised the forget set scores AUC near 0, a stranger near 0.5."""
    assert scores["target"]["auc"] < 0.2
    assert scores["target"]["auc"] < scores["retrain"]["auc"] - 0.2
