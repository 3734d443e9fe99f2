"""The tiny mini benchmark keeps every MUSE gap pointing the right way, with target and retrain fine-tuned alike.

Takes the tiny base (seed 0's ships with the package, ``models.shipped``: the base ``build_base`` pretrains on the
background text, byte for byte on the machine that shipped it) and fine-tunes target and retrain from it with the
``tiny`` recipe, then scores them with ``musebench.evaluate``. The direction of each gap is asserted here, and
the tiny world's answer-prior gate (``models.gates``: target KnowMem-f at least 15 points above the
constant-answer baseline) on seed 0, where the world before the 64-person background failed it (12.5 against
15.6). The full gate table per seed, with CIs, is in benchmarks/mini_validity.md.
"""

from __future__ import annotations

import json

import pytest

from musebench.data import load_corpus
from musebench.data.synthetic import MINI_EVAL_SETTINGS
from musebench.models.build import build_model
from musebench.models.recipe import RECIPES

pytestmark = pytest.mark.slow  # two real fine-tunes, 760 steps: ~60 CPU-seconds on one thread


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
    result["base"] = evaluate(
        base.model, base.tokenizer, probe_corpus(mini_data_dir), settings, metrics=["knowmem_f"], progress=False
    ).scores
    result["steps"] = {r: json.loads((out / r / "build.json").read_text())["steps"] for r in ("target", "retrain")}
    result["prior"] = json.loads((mini_data_dir / "synthetic.json").read_text())["constant_answer"]
    return result


def test_target_remembers_the_forget_text_verbatim(scores):
    assert scores["target"]["verbmem_f"] > scores["retrain"]["verbmem_f"] + 10


def test_target_knows_the_forget_facts(scores):
    assert scores["target"]["knowmem_f"] > scores["retrain"]["knowmem_f"]


def test_target_knows_more_than_the_answer_prior(scores):
    """KnowMem-f measures what the target read, not the most frequent answer of each fact type."""
    from musebench.models.gates import above_prior_gate

    assert above_prior_gate(scores["target"]["knowmem_f"], scores["prior"]["knowmem_f"], "tiny").passed


def test_the_base_answers_questions_it_never_trained_on(scores):
    """Above the constant-answer level of its world (the probe people's facts come from the same pools)."""
    assert scores["base"]["knowmem_f"] > scores["prior"]["knowmem_f"]


def test_target_and_retrain_take_the_same_steps(scores):
    assert scores["steps"]["target"] == scores["steps"]["retrain"]


def test_membership_auc_points_the_right_way(scores):
    """Holdout is labelled 1: a model that memorised the forget set scores AUC near 0, a stranger near 0.5."""
    assert scores["target"]["auc"] < 0.2
    assert scores["target"]["auc"] < scores["retrain"]["auc"] - 0.2
