"""The tiny mini benchmark keeps every MUSE gap pointing the right way (target remembers, retrain does not).

Trains both tiny models from scratch with the ``tiny`` recipe (55 s for both plus evaluation on one thread of a lightly loaded 2-core machine) and scores them with
``musebench.evaluate``. The full-size gates are measured in benchmarks/mini_validity.md; here only the
direction of each gap is asserted, which a build that silently trained the wrong documents would break.
"""

from __future__ import annotations

import pytest

from musebench.data import load_corpus
from musebench.data.synthetic import MINI_EVAL_SETTINGS
from musebench.models.build import build_model
from musebench.models.recipe import RECIPES

pytestmark = pytest.mark.slow  # two real trainings: ~1 min on one idle core, more on a busy one


@pytest.fixture(scope="module")
def scores(mini_data_dir, tmp_path_factory):
    from musebench.evaluate import EvalSettings, evaluate
    from musebench.models.loading import load_model

    out = tmp_path_factory.mktemp("tiny_models")
    corpus = load_corpus(mini_data_dir)
    settings = EvalSettings(**{**MINI_EVAL_SETTINGS["tiny"], "bootstrap_samples": 0})
    result = {}
    for role in ("retrain", "target"):
        path = build_model(mini_data_dir, role, out, recipe=RECIPES["tiny"], seed=0, progress=False)
        loaded = load_model(path)
        result[role] = evaluate(loaded.model, loaded.tokenizer, corpus, settings, progress=False).scores
    return result


def test_target_remembers_the_forget_text_verbatim(scores):
    assert scores["target"]["verbmem_f"] > scores["retrain"]["verbmem_f"] + 10


def test_target_knows_the_forget_facts(scores):
    assert scores["target"]["knowmem_f"] > scores["retrain"]["knowmem_f"]


def test_membership_auc_points_the_right_way(scores):
    """Holdout is labelled 1: a model that memorised the forget set scores AUC near 0, a stranger near 0.5."""
    assert scores["target"]["auc"] < 0.2
    assert scores["target"]["auc"] < scores["retrain"]["auc"] - 0.2
