"""Bootstraps that resample the unit of independence (a person) when the corpus records it."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from musebench.data.corpus import record_key
from musebench.data.files import DataWarning
from musebench.data.layout import save_corpus
from musebench.data.loaders import load_corpus_dir
from musebench.evaluate import evaluate
from musebench.evaluate.bootstrap import bootstrap_ci
from musebench.evaluate.metrics import auc_by_ranks, mean_x100, rows_mean_x100
from musebench.evaluate.privacy import MeasuredAUC, privleak_ci


def test_resampling_people_widens_the_ci_of_answers_that_go_with_the_person():
    """Four people, five questions each; two people's questions are all answered, two people's none. Drawn by
    person, the mean is k/4 with k ~ Binomial(4, 1/2): P(k = 0) = P(k = 4) = 1/16 > 2.5 %, so the 95 % interval
    is [0, 100]. Drawn question by question (20 'independent' ones) it is about 50 +- 22."""
    values = [1.0] * 10 + [0.0] * 10
    people = [p for p in "ABCD" for _ in range(5)]
    by_question = bootstrap_ci(mean_x100, [(values,)], samples=2000, seed=0, name="k", batched=rows_mean_x100)
    by_person = bootstrap_ci(mean_x100, [(values,)], samples=2000, seed=0, name="k", clusters=[people])
    assert by_person == [0.0, 100.0]
    assert 20 <= by_question[0] <= 35 and 65 <= by_question[1] <= 80
    # no labels: exactly the draws (and interval) it always had
    assert bootstrap_ci(mean_x100, [(values,)], samples=2000, seed=0, name="k", clusters=[None]) == by_question


def test_privleak_ci_resamples_people_on_both_sides_and_both_models():
    """8 people a side, 3 texts each, how familiar a person is to each model dominating its scores: by person
    the interval of PrivLeak is wider than by text (24 texts a side treated as independent)."""
    rng = np.random.default_rng(1)
    f_people, h_people = np.repeat(np.arange(8), 3), np.repeat(np.arange(8, 16), 3)
    model, other = rng.normal(0, 1, 16), rng.normal(0, 1, 16)  # each model's familiarity with each person
    fm, hm = model[f_people] + rng.normal(0, 0.2, 24), model[h_people] + rng.normal(0, 0.2, 24)
    fr, hr = other[f_people] + rng.normal(0, 0.2, 24), other[h_people] + rng.normal(0, 0.2, 24)
    retrain = MeasuredAUC(fr, hr)
    by_text = privleak_ci(fm, hm, retrain, samples=1000, seed=0)
    by_person = privleak_ci(fm, hm, retrain, samples=1000, seed=0, clusters=[list(f_people), list(h_people)])
    assert by_person[1] - by_person[0] > 1.3 * (by_text[1] - by_text[0])
    auc_text = bootstrap_ci(auc_by_ranks, [(fm,), (hm,)], samples=1000, seed=0, name="auc")
    auc_person = bootstrap_ci(
        auc_by_ranks, [(fm,), (hm,)], samples=1000, seed=0, name="auc", clusters=[list(f_people), list(h_people)]
    )
    assert auc_person[1] - auc_person[0] > 1.3 * (auc_text[1] - auc_text[0])


def _one_person(corpus, part: str, label: str = "P") -> dict:
    return {record_key(r): label for r in getattr(corpus, part)}


def test_the_evaluation_draws_whole_people(tiny_lm, tiny_corpus, small_settings):
    """Every forget text of one person and every holdout text of another: each draw is those two people's
    texts, so the AUC's CI is the point estimate; drawn text by text it is not (the texts score differently)."""
    plain = evaluate(
        tiny_lm.model, tiny_lm.tokenizer, tiny_corpus, small_settings, metrics=["privleak"], progress=False
    )
    assert plain.ci["auc"][1] > plain.ci["auc"][0]  # the precondition: the texts differ
    units = {
        "privleak_forget": _one_person(tiny_corpus, "privleak_forget"),
        "privleak_holdout": _one_person(tiny_corpus, "privleak_holdout", "Q"),
    }
    grouped = evaluate(
        tiny_lm.model,
        tiny_lm.tokenizer,
        dataclasses.replace(tiny_corpus, units=units),
        small_settings,
        metrics=["privleak"],
        progress=False,
    )
    assert grouped.scores == plain.scores  # units change intervals, never scores
    assert grouped.ci["auc"] == pytest.approx([grouped.scores["auc"]] * 2)


def test_unit_labels_survive_saving_loading_and_subsets(tiny_corpus, tmp_path):
    qa = tiny_corpus.knowmem_forget_qa
    corpus = dataclasses.replace(
        tiny_corpus, units={"knowmem_forget_qa": {record_key(q): f"person-{i}" for i, q in enumerate(qa)}}
    )
    save_corpus(corpus, tmp_path / "c")
    saved = json.loads((tmp_path / "c" / "tags" / "units.json").read_text())
    assert saved == {"unit": "person", "knowmem_forget_qa": [f"person-{i}" for i in range(len(qa))]}
    loaded = load_corpus_dir(tmp_path / "c")
    assert loaded.unit_labels("knowmem_forget_qa") == [f"person-{i}" for i in range(len(qa))]
    assert loaded.fingerprint() == tiny_corpus.fingerprint()  # labels change no score
    assert loaded.unit_labels("knowmem_forget_qa", qa[::-1]) == [f"person-{i}" for i in range(len(qa))][::-1]
    assert loaded.unit_labels("knowmem_retain_qa") is None  # not recorded: every question its own unit
    (tmp_path / "c" / "tags" / "units.json").write_text(json.dumps({"knowmem_forget_qa": ["one"]}))
    with pytest.warns(DataWarning, match=f"1 labels for {len(qa)} records"):  # records edited after labelling
        stale = load_corpus_dir(tmp_path / "c")
    assert stale.unit_labels("knowmem_forget_qa") is None  # its questions resampled one by one, not by person
