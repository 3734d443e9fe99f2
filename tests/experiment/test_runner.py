import json
from pathlib import Path

import pytest

from musebench.errors import ConfigError
from musebench.experiment.config import parse_experiment
from musebench.experiment.runner import run_experiment

EXPERIMENT = {
    "name": "fake-run",
    "corpus": "news-mini",
    "methods": {"ga": {"num_train_epochs": 3}, "npo": {"num_train_epochs": 3}, "tv": {"alphas": [1, 2, 4, 8]}},
    "scalability": {"methods": ["ga"], "folds": [1, 3]},
    "sustainability": {"methods": ["npo"], "folds": [1, 2, 3]},
}


def cfg_of(raw=None, **changes):
    return parse_experiment({**(raw or EXPERIMENT), **changes})


def test_main_methods_selected_by_the_papers_rule(tmp_path, fake_backend):
    results = run_experiment(cfg_of(), tmp_path / "run", fake_backend)
    methods = results["methods"]
    # retrain knowmem_f = 33: ga [40, 30, 10] -> epoch-2; npo [50, 45, 40] -> none, last; tv [60, 32, ..] -> 2
    assert methods["ga"]["selected"] == "epoch-2"
    assert methods["npo"]["selected"] == "epoch-3"
    assert "last one" in methods["npo"]["selection_reason"]
    assert methods["tv"]["selected"] == "epoch-2"
    assert methods["ga"]["selected_scores"]["knowmem_f"] == 30.0
    assert [c["label"] for c in methods["ga"]["checkpoints"]] == ["epoch-1", "epoch-2", "epoch-3"]
    assert fake_backend.calls["report"] == [tmp_path / "run"]


def test_results_json_follows_the_schema(tmp_path, fake_backend):
    run_experiment(cfg_of(), tmp_path / "run", fake_backend)
    data = json.loads((tmp_path / "run" / "results.json").read_text())
    assert data["schema_version"] == 1 and data["name"] == "fake-run"
    assert set(data) >= {"corpus", "provenance", "retrain_auc", "reference", "methods", "timing_s"}
    assert data["corpus"]["name"] == "fake" and len(data["corpus"]["fingerprint"]) == 16
    assert data["retrain_auc"] == 0.48
    assert data["reference"]["retrain"]["scores"]["privleak"] == 0.0
    # target: (0.05 - 0.48) / 0.48 * 100
    assert data["reference"]["target"]["scores"]["privleak"] == pytest.approx(-89.583, abs=1e-3)
    # the settings the file resolved to (a tiny mini corpus: its budgets), recorded whole
    assert data["provenance"]["eval_settings"] == cfg_of().eval.settings.to_dict()
    assert data["provenance"]["eval_settings"]["bootstrap_samples"] == 100
    ga = data["methods"]["ga"]
    assert set(ga) >= {"config", "checkpoints", "selected", "selection_reason", "scalability", "timing_s"}
    assert set(ga["checkpoints"][0]) == {"label", "scores", "ci"}
    assert set(ga["timing_s"]) == {"unlearn", "eval"}
    assert [r["fold"] for r in ga["scalability"]] == [1, 3]
    assert [r["forget_docs"] for r in ga["scalability"]] == [1, 3]
    assert ga["scalability"][1]["forget_tokens"] == 3 * 9  # fake tokens = words
    assert [r["request"] for r in data["methods"]["npo"]["sustainability"]] == [1, 2, 3]
    assert "sustainability" not in ga and "scalability" not in data["methods"]["npo"]
    assert data["timing_s"]["total"] >= 0


def test_c5_unlearns_every_fold_from_the_target(tmp_path, fake_backend):
    run_experiment(cfg_of(), tmp_path / "run", fake_backend)
    (models,) = (tmp_path / "cache" / "models").iterdir()
    assert models.name.startswith("fake-")
    target = str(models / "target")
    scal = [c for c in fake_backend.calls["unlearn"] if c["split"].startswith("scal/")]
    assert [c["split"] for c in scal] == ["scal/forget_1", "scal/forget_3"]
    assert all(c["model"] == target and c["reference"] == target for c in scal)


def test_c6_chains_the_previous_selected_checkpoint_as_model_and_reference(tmp_path, fake_backend):
    results = run_experiment(cfg_of(), tmp_path / "run", fake_backend)
    sust = [c for c in fake_backend.calls["unlearn"] if c["split"].startswith("sust/")]
    assert [c["split"] for c in sust] == ["sust/forget_1", "sust/forget_2", "sust/forget_3"]
    assert sust[0]["model"] == sust[0]["reference"] == str(results["reference"]["target"]["model"])
    assert sust[0]["model"].startswith(str(tmp_path / "cache" / "models"))
    rows = results["methods"]["npo"]["sustainability"]
    for previous, call, row in zip(rows, sust[1:], rows[1:]):
        expected = str(tmp_path / "run" / "sust" / "npo" / f"request-{previous['request']}" / previous["selected"])
        assert call["model"] == call["reference"] == expected
        assert row["started_from"] == f"sust/npo/request-{previous['request']}/{previous['selected']}"
    # the paper's rule for C6: every request keeps the epoch count chosen on npo's main request (epoch-3)
    assert [r["selected"] for r in rows] == ["epoch-3", "epoch-3", "epoch-3"]
    assert all("main request's choice" in r["selection_reason"] for r in rows)


def test_c6_own_fold_judges_each_request_by_its_fold_questions(tmp_path, fake_backend):
    """``own_fold``: the rule on each request's own fold questions, against the retrain model's KnowMem on them.
    The fake's chained curves start lower each time: request 1 keeps epoch-3 (40 > 33), request 2 starts
    from it (shift -24: 26 <= 33 at epoch-1)."""
    asked = {}  # evaluation stage (its save directory) -> the KnowMem-forget questions it asked
    real_evaluate = fake_backend.evaluate

    def recording(model_path, corpus, settings, metrics, retrain_auc, checkpoint, save_dir=None):
        asked[str(save_dir)] = [q.question for q in corpus.knowmem_forget_qa]
        return real_evaluate(model_path, corpus, settings, metrics, retrain_auc, checkpoint, save_dir)

    fake_backend.evaluate = recording
    results = run_experiment(cfg_of(selection={"follow_ups": "own_fold"}), tmp_path / "run", fake_backend)
    rows = results["methods"]["npo"]["sustainability"]
    assert [r["selected"] for r in rows] == ["epoch-3", "epoch-1", "epoch-1"]
    assert "sust/forget_2's questions" in rows[1]["selection_reason"]
    judge = {p: q for p, q in asked.items() if "/judge/" in p}
    request_2 = [q for p, q in judge.items() if "/sust/npo/request-2/" in p]
    assert request_2 and all(q == ["Sust 2?"] for q in request_2)  # its own fold's questions, not forget's
    assert all(q == ["Scal 3?"] for p, q in judge.items() if "/scal/ga/fold-3/" in p)
    main = [q for p, q in asked.items() if "/methods/" in p]
    assert main and all(q == ["What is 0?", "What is 1?"] for q in main)  # main requests: the forget QA
    retrain_folds = sorted(
        p.name for p in (tmp_path / "run" / "stages").iterdir() if p.name.startswith("eval__retrain__")
    )
    assert retrain_folds == [
        f"eval__retrain__{f}.json"
        for f in ("scal__forget_1", "scal__forget_3", "sust__forget_1", "sust__forget_2", "sust__forget_3")
    ]


def test_rerun_after_a_crash_redoes_nothing_already_finished(tmp_path, make_backend):
    crashing = make_backend(fail_eval_at="methods/npo/epoch-2")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_experiment(cfg_of(), tmp_path / "run", crashing)
    assert (tmp_path / "run" / "results.json").is_file()  # partial results are on disk
    partial = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "ga" in partial["methods"] and "npo" not in partial["methods"]

    resumed = make_backend()
    run_experiment(cfg_of(), tmp_path / "run", resumed)
    assert resumed.calls["build"] == [] and resumed.calls["prepare"] == []
    redone_unlearn = [(c["method"], c["split"]) for c in resumed.calls["unlearn"]]
    assert ("ga", "forget") not in redone_unlearn and ("npo", "forget") not in redone_unlearn
    evaluated = [p for p, _, _ in resumed.calls["evaluate"]]
    assert not any("methods/ga/" in p or p.endswith("methods/npo/epoch-1") for p in evaluated)
    assert any(p.endswith("methods/npo/epoch-2") for p in evaluated)

    third = make_backend()
    run_experiment(cfg_of(), tmp_path / "run", third)
    assert third.calls["unlearn"] == [] and third.calls["evaluate"] == []


def test_changed_hyperparameters_redo_that_method_and_nothing_else(tmp_path, make_backend):
    run_experiment(cfg_of(), tmp_path / "run", make_backend())
    changed = {
        **EXPERIMENT,
        "methods": {**EXPERIMENT["methods"], "npo": {"num_train_epochs": 3, "learning_rate": 1e-3}},
    }
    again = make_backend()
    run_experiment(cfg_of(changed), tmp_path / "run", again)
    assert {(c["method"], c["split"]) for c in again.calls["unlearn"]} == {
        ("npo", "forget"),
        ("npo", "sust/forget_1"),
        ("npo", "sust/forget_2"),
        ("npo", "sust/forget_3"),
    }
    assert all(c["resume"] is False for c in again.calls["unlearn"])


def test_force_redoes_every_stage(tmp_path, make_backend):
    run_experiment(cfg_of(), tmp_path / "run", make_backend())
    again = make_backend()
    run_experiment(cfg_of(), tmp_path / "run", again, force=True)
    assert again.calls["build"] == ["retrain", "target"]
    assert len(again.calls["unlearn"]) == 3 + 2 + 3


def test_follow_ups_take_the_main_choice_and_evaluate_only_it(tmp_path, fake_backend):
    """The paper's C5 rule: ga's main request chose epoch-2, so every fold keeps epoch-2; in selection mode
    only that checkpoint is evaluated (in full), the main forget questions never judge a fold."""
    results = run_experiment(cfg_of(), tmp_path / "run", fake_backend)
    scal_evals = [(p, m) for p, m, _ in fake_backend.calls["evaluate"] if "/scal/" in p]
    assert [(p.rsplit("/", 2)[-2:], m) for p, m in scal_evals] == [
        (["fold-1", "epoch-2"], None),
        (["fold-3", "epoch-2"], None),
    ]
    rows = results["methods"]["ga"]["scalability"]
    assert [r["selected"] for r in rows] == ["epoch-2", "epoch-2"]
    assert [[c["label"] for c in r["checkpoints"]] for r in rows] == [["epoch-2"], ["epoch-2"]]
    assert rows[0]["checkpoints_trained"] == 3 and set(rows[0]["scores"]) >= {"verbmem_f", "knowmem_r"}


def test_selection_mode_evaluates_only_selection_metrics_then_the_chosen_in_full(tmp_path, fake_backend):
    results = run_experiment(cfg_of(selection={"follow_ups": "own_fold"}), tmp_path / "run", fake_backend)
    scal_evals = [(p, m) for p, m, _ in fake_backend.calls["evaluate"] if "/scal/" in p]
    partial = [p for p, m in scal_evals if m is not None]
    full = [p for p, m in scal_evals if m is None]
    # ga [40, 30, 10]: epoch-2 meets retrain's 33, so epoch-3 is never evaluated (the rule keeps the first)
    assert len(partial) == 4 and all(m == ["knowmem_f"] for p, m in scal_evals if m)
    assert not any(p.endswith("epoch-3") for p, _ in scal_evals)
    assert len(full) == 2
    row = results["methods"]["ga"]["scalability"][0]
    assert set(row["scores"]) >= {"verbmem_f", "knowmem_f", "knowmem_r", "privleak"}
    assert row["selected"] == "epoch-2" and row["checkpoints_trained"] == 3
    # the fold questions judged it; the row's criteria are the main corpus's, of the selected checkpoint
    assert [c["label"] for c in row["checkpoints"]] == ["epoch-2"] and row["checkpoints"][0]["scores"] == row["scores"]
    assert [(c["label"], c["scores"]) for c in row["judged"]] == [
        ("epoch-1", {"knowmem_f": 40.0}),
        ("epoch-2", {"knowmem_f": 30.0}),
    ]
    # npo never reaches 33 (C6 request 1): every checkpoint is evaluated, the last selected
    first = results["methods"]["npo"]["sustainability"][0]
    assert [c["label"] for c in first["judged"]] == ["epoch-1", "epoch-2", "epoch-3"]
    assert first["selected"] == "epoch-3"


def test_lazy_selection_with_a_floor_reads_utility_too(tmp_path, fake_backend):
    # target knowmem_r 55, floor 0.7 -> 38.5: only ga epoch-1 (kf 40, kr 40) is eligible; epoch-2 (kf 30, kr 30)
    # meets retrain's 33 but breaks the floor. No eligible one meets 33 -> the last eligible: epoch-1.
    cfg = cfg_of(
        selection={"utility_floor": 0.7, "follow_ups": "own_fold"},
        methods={"ga": {"num_train_epochs": 3}},
        scalability={"methods": ["ga"], "folds": [1]},
        sustainability=False,
    )
    results = run_experiment(cfg, tmp_path / "run", fake_backend)
    row = results["methods"]["ga"]["scalability"][0]
    assert [c["label"] for c in row["judged"]] == ["epoch-1", "epoch-2", "epoch-3"]
    assert set(row["judged"][1]["scores"]) == {"knowmem_f", "knowmem_r"}
    assert row["selected"] == "epoch-1" and "kept 1/3" in row["selection_reason"]
    assert set(row["checkpoints"][0]["scores"]) >= {"verbmem_f", "privleak"}


def test_missing_folds_fail_before_any_training(tmp_path, fake_backend):
    cfg = cfg_of(scalability={"methods": ["ga"], "folds": [1, 5]})
    with pytest.raises(ConfigError, match=r"scal folds \[1, 2, 3, 4\], not \[5\]"):
        run_experiment(cfg, tmp_path / "run", fake_backend)
    assert fake_backend.calls["build"] == [] and fake_backend.calls["unlearn"] == []


def test_given_models_are_used_without_building(tmp_path, fake_backend):
    target = tmp_path / "my_target"
    retrain = tmp_path / "my_retrain"
    fake_backend.build_model(None, "target", tmp_path / "given", {}, 0)
    (tmp_path / "given" / "target").rename(target)
    fake_backend.build_model(None, "retrain", tmp_path / "given", {}, 0)
    (tmp_path / "given" / "retrain").rename(retrain)
    fake_backend.calls["build"].clear()
    cfg = cfg_of(
        models={"target": str(target), "retrain": str(retrain)},
        scalability=False,
        sustainability=False,
        eval={"retrain_auc": 0.5},
    )
    results = run_experiment(cfg, tmp_path / "run", fake_backend)
    assert fake_backend.calls["build"] == []
    assert results["retrain_auc"] == 0.5
    assert results["reference"]["retrain"]["scores"]["privleak"] == pytest.approx(-4.0)
    assert Path(results["reference"]["target"]["model"]) == target


def test_eval_metrics_limit_every_full_evaluation(tmp_path, fake_backend):
    four = ["verbmem_f", "knowmem_f", "knowmem_r", "privleak"]
    run_experiment(cfg_of(eval={"metrics": four}, selection={"follow_ups": "own_fold"}), tmp_path / "run", fake_backend)
    modes = {m if m is None else tuple(m) for _, m, _ in fake_backend.calls["evaluate"]}
    assert modes == {tuple(four), ("knowmem_f",)}
    with pytest.raises(ConfigError, match="must include knowmem_f"):
        cfg_of(eval={"metrics": ["verbmem_f"]})


def test_display_only_fields_do_not_redo_unlearning(tmp_path, make_backend):
    run_experiment(cfg_of(), tmp_path / "run", make_backend())
    quiet = {**EXPERIMENT, "method_defaults": {"progress": False, "save_strategy": "no", "report_to": "tensorboard"}}
    again = make_backend()
    run_experiment(cfg_of(quiet), tmp_path / "run", again)
    assert again.calls["unlearn"] == []


def test_follow_up_rule_is_checked_before_any_training(tmp_path, fake_backend, corpus_factory, monkeypatch):
    with pytest.raises(ConfigError, match="selection.follow_ups"):
        cfg_of(selection={"follow_ups": "per_fold"})
    bare = corpus_factory()
    bare.sust_qa = {}
    monkeypatch.setattr(fake_backend, "load_corpus", lambda data_dir: bare)
    with pytest.raises(ConfigError, match="none for sust folds"):
        run_experiment(cfg_of(selection={"follow_ups": "own_fold"}), tmp_path / "run", fake_backend)
    assert fake_backend.calls["unlearn"] == []


def test_models_base_reaches_both_builds_and_keys_them(tmp_path, fake_backend):
    cfg = cfg_of(models={"base": "models/smollm2-135m"}, scalability=False, sustainability=False)
    run_experiment(cfg, tmp_path / "run", fake_backend)
    assert fake_backend.calls["build"] == ["retrain", "target"]
    assert fake_backend.calls["build_base"] == ["models/smollm2-135m"] * 2


def test_a_fold_holding_the_forget_set_is_the_main_request_and_runs_once(tmp_path, make_backend, monkeypatch):
    """As in the MUSE release, C5 fold 1 and C6 request 1 can hold exactly the forget set: from the same start
    model with the same recipe they are the main request, so its checkpoints are taken (not trained and scored
    again), the markers say so, and the rows carry the main request's numbers."""
    import dataclasses

    from tests.experiment.conftest import fake_corpus

    def muse_like() -> object:
        corpus = fake_corpus()
        return dataclasses.replace(
            corpus, scal={**corpus.scal, 1: corpus.forget}, sust={**corpus.sust, 1: corpus.forget}
        )

    backend = make_backend()
    monkeypatch.setattr(backend, "load_corpus", lambda data_dir: muse_like())
    raw = {
        **EXPERIMENT,
        "scalability": {"methods": ["ga"], "folds": [1, 3]},
        "sustainability": {"methods": ["ga"], "folds": [1, 2]},
    }
    results = run_experiment(cfg_of(raw), tmp_path / "run", backend)
    ga_runs = [c["split"] for c in backend.calls["unlearn"] if c["method"] == "ga"]
    assert ga_runs == ["forget", "scal/forget_3", "sust/forget_2"]  # fold 1 / request 1: no second training
    ga = results["methods"]["ga"]
    fold_1, request_1 = ga["scalability"][0], ga["sustainability"][0]
    assert fold_1["scores"] == request_1["scores"] == ga["selected_scores"]
    # request 2 starts from the main request's selected checkpoint, the model request 1 selected
    request_2 = next(c for c in backend.calls["unlearn"] if c["split"] == "sust/forget_2")
    assert request_2["model"] == str(tmp_path / "run" / "methods" / "ga" / ga["selected"])
    marker = json.loads((tmp_path / "run" / "stages" / "scal__ga__fold-1__unlearn.json").read_text())
    assert marker["same_as"] == "methods/ga/unlearn" and marker["wall_s"] == 0.0
    selected = str(tmp_path / "run" / "methods" / "ga" / ga["selected"])
    assert [m for p, m, _ in backend.calls["evaluate"] if p == selected] == [None]  # scored in full once
    # a second run redoes nothing, and the fold's row is the same
    again = make_backend()
    monkeypatch.setattr(again, "load_corpus", lambda data_dir: muse_like())
    rerun = run_experiment(cfg_of(raw), tmp_path / "run", again)
    assert again.calls["unlearn"] == [] and again.calls["evaluate"] == []
    assert rerun["methods"]["ga"]["scalability"][0]["scores"] == fold_1["scores"]
