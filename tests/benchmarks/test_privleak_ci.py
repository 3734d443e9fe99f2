"""``benchmarks/privleak_ci.py``: PrivLeak's CI before / after from a run's stored per-text scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musebench.evaluate.metrics import auc, privleak
from musebench.evaluate.privacy import MeasuredAUC, privleak_ci


@pytest.fixture(scope="module")
def pc(load_script):
    return load_script("privleak_ci")


RETRAIN = {"forget": [5.0, 3.0, 8.0, 1.0, 6.0, 2.0], "holdout": [4.0, 7.0, 2.5, 9.0, 5.5, 3.5]}
TARGET = {"forget": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "holdout": [4.0, 7.0, 2.5, 9.0, 5.5, 3.5]}  # AUC 0
METHOD = {"forget": [1.0, 3.0, 0.5, 6.0, 2.0, 2.2], "holdout": [4.0, 7.0, 2.5, 9.0, 5.5, 3.5]}


def _stage(run: Path, name: str, scores: dict) -> None:
    path = run / "stages" / (name.replace("/", "__") + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "result": {"privleak_scores": scores}}), encoding="utf-8")


def _per_example(folder: Path, scores: dict) -> None:
    """The older layout: no scores in the stage file, only the evaluation folder's per-example rows."""
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"privacy": {"headline_attack": "mink_40"}}), encoding="utf-8")
    rows = [
        {"criterion": "privleak", "split": split, "index": i, "scores": {"mink_40": v, "nll": 0.0}}
        for split in ("forget", "holdout")
        for i, v in enumerate(scores[split])
    ]
    rows.append({"criterion": "knowmem_f", "index": 0, "scores": {"rougeL_f1": 1.0}})
    (folder / "per_example.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")


@pytest.fixture()
def run(tmp_path, sample_results) -> Path:
    doc = json.loads(sample_results.read_text(encoding="utf-8"))
    doc["retrain_auc"] = auc(RETRAIN["forget"], RETRAIN["holdout"])
    run = tmp_path / "demo" / "news-mini"
    run.mkdir(parents=True)
    (run / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    _stage(run, "eval/retrain", RETRAIN)
    _per_example(run / "eval" / "target", TARGET)
    _stage(run, "methods/ga_gdr/eval/epoch-2/all", METHOD)  # the lazy layout's full evaluation
    _per_example(run / "methods" / "npo_gdr" / "eval" / "epoch-4", METHOD)  # the eager layout
    return run


def test_rows_read_every_layout_and_after_is_the_engines_joint_ci(pc, run):
    rows, info = pc.run_rows(run, samples=200, seed=3, tolerance=5.0)
    by = {r["model"]: r for r in rows}
    assert set(by) == {"target", "retrain", "ga_gdr (epoch-2)", "npo_gdr (epoch-4)"}
    assert info["missing"] == ["npo_klr (epoch-4)", "task_vector (alpha-8)"]
    assert info["unit"].startswith("text") and info["texts"] == (6, 6)
    r_auc = auc(RETRAIN["forget"], RETRAIN["holdout"])
    ga = by["ga_gdr (epoch-2)"]
    assert ga["privleak"] == pytest.approx(privleak(auc(METHOD["forget"], METHOD["holdout"]), r_auc))
    # "after" is the engine's rule itself: both models' texts drawn together
    expected = privleak_ci(
        METHOD["forget"], METHOD["holdout"], MeasuredAUC(RETRAIN["forget"], RETRAIN["holdout"]), 200, 3
    )
    assert ga["after"] == pytest.approx(expected)
    assert by["npo_gdr (epoch-4)"]["after"] == pytest.approx(expected)  # read from per_example.jsonl
    # the retrain AUC's own uncertainty only widens the interval; a model at AUC 0 stays at -100 either way
    assert ga["after"][1] - ga["after"][0] >= ga["before"][1] - ga["before"][0]
    assert by["target"]["before"] == by["target"]["after"] == [-100.0, -100.0]
    assert by["target"]["c3_after"] == "not met"
    # the retrain row: its own AUC's CI, as PrivLeak, straddles 0
    assert by["retrain"]["privleak"] == 0.0 and by["retrain"]["after"][0] < 0 < by["retrain"]["after"][1]


def test_a_constant_retrain_auc_maps_the_models_own_ci(pc, run):
    doc = json.loads((run / "results.json").read_text(encoding="utf-8"))
    doc["retrain_auc_source"] = "news (the MUSE release's constant)"
    (run / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    rows, _ = pc.run_rows(run, samples=200, seed=3, tolerance=5.0)
    ga = next(r for r in rows if r["model"].startswith("ga_gdr"))
    assert ga["after"] == ga["fixed_by_unit"]


def test_singleton_units_resample_exactly_like_texts(pc):
    """Every text its own unit draws the very same indices as resampling texts (one generator stream)."""
    model = pc.Scores(METHOD["forget"], METHOD["holdout"], "x")
    labels = ([f"f{i}" for i in range(6)], [f"h{i}" for i in range(6)])
    row = pc.model_row("m", model, None, 0.5, labels, 300, 1, 5.0)
    assert row["fixed_by_unit"] == pytest.approx(row["before"])


@pytest.mark.parametrize(
    ("value", "ci", "call"),
    [
        (-2.0, [-4.0, 3.0], "met"),  # narrower than the band
        (-2.0, [-10.0, 8.0], "not resolvable"),  # wider than ±5, straddling it
        (-30.0, [-40.0, -20.0], "not met"),  # wide, but wholly outside the band
        (8.0, [6.0, 9.0], "not met"),
        (1.0, None, "met"),
    ],
)
def test_c3_call(pc, value, ci, call):
    assert pc.c3_call(value, ci, 5.0) == call


def test_a_folder_of_runs_skips_report_tables(pc, run, capsys):
    report = run / "report"
    report.mkdir()
    (report / "results.json").write_text("{}", encoding="utf-8")  # the report's table data, not a run
    assert pc.run_dirs(run.parent) == [run]
    assert pc.main([str(run.parent), "--samples", "50"]) == 0
    out = capsys.readouterr().out
    assert "## news-mini" in out and "| ga_gdr (epoch-2) |" in out and "resampled by text" in out


def test_an_unreadable_run_in_a_folder_is_named_and_the_others_still_print(pc, run, capsys):
    broken = run.parent / "half-done"
    (broken / "stages").mkdir(parents=True)
    (broken / "results.json").write_text(json.dumps({"schema_version": 1, "name": "x"}), encoding="utf-8")
    assert pc.main([str(run.parent), "--samples", "50"]) == 0
    captured = capsys.readouterr()
    assert "## news-mini" in captured.out and "half-done" not in captured.out
    assert "error: " in captured.err and "half-done" in captured.err
    assert pc.main([str(broken)]) == 2
