"""Reading results.json through the results schema: typed values from the sample, and one DataError naming
every malformed field by its JSON path and value."""

from __future__ import annotations

import json

import pytest

from musebench.errors import DataError
from musebench.results import load_results


def test_sample_loads_into_typed_values(sample_path):
    results = load_results(sample_path)
    assert results.name == "demo-news-mini"
    assert results.retrain_auc == pytest.approx(0.4772)
    assert results.target.scores["knowmem_f"] == 63.9
    assert results.retrain.ci["verbmem_f"] == (16.7, 24.9)
    assert list(results.methods) == ["ga_gdr", "npo_gdr", "npo_klr", "task_vector"]
    npo = results.methods["npo_gdr"]
    assert [c.label for c in npo.checkpoints] == ["epoch-1", "epoch-2", "epoch-3", "epoch-4", "epoch-5"]
    assert npo.selected_checkpoint.scores["knowmem_f"] == 32.5
    assert [f.forget_docs for f in npo.scalability] == [10, 20, 30, 40]
    assert [r.request for r in npo.sustainability] == [1, 2, 3, 4]
    assert npo.sustainability[3].scores["knowmem_r"] == 52.5
    assert results.methods["npo_klr"].scalability == ()
    assert results.methods["npo_klr"].sustainability == ()


def test_run_dir_and_file_path_are_both_accepted(tmp_path, doc, write_run):
    run = write_run(tmp_path / "run", doc)
    assert load_results(run).name == load_results(run / "results.json").name


def test_folds_are_ordered_by_number(tmp_path, doc, write_run):
    doc["methods"]["npo_gdr"]["scalability"].reverse()
    results = load_results(write_run(tmp_path, doc))
    assert [f.fold for f in results.methods["npo_gdr"].scalability] == [1, 2, 3, 4]


def test_missing_file_names_results_json(tmp_path):
    with pytest.raises(DataError, match="results file not found") as err:
        load_results(tmp_path / "nowhere")
    assert err.value.file.endswith("results.json")


def test_invalid_json_gives_line_and_column(tmp_path):
    (tmp_path / "results.json").write_text('{"schema_version": 1,\n "name": }', encoding="utf-8")
    with pytest.raises(DataError, match=r"not valid JSON \(line 2, column 10"):
        load_results(tmp_path)


def test_unknown_schema_version(tmp_path, doc, write_run):
    doc["schema_version"] = 7
    with pytest.raises(DataError, match=r"made by a newer musebench \(schema_version 7; this one reads 1\)"):
        load_results(write_run(tmp_path, doc))


@pytest.mark.parametrize(
    "mutate, field, value",
    [
        (
            lambda d: d["methods"]["npo_gdr"]["checkpoints"][1]["scores"].__setitem__("knowmem_f", "high"),
            "methods.npo_gdr.checkpoints[1].scores.knowmem_f",
            "high",
        ),
        (
            lambda d: d["methods"]["npo_gdr"]["checkpoints"][1]["scores"].__setitem__("knowmem_f", 0.47 * 1000),
            "methods.npo_gdr.checkpoints[1].scores.knowmem_f",
            470.0,
        ),
        (lambda d: d["reference"]["retrain"]["scores"].__setitem__("auc", 1.5), "reference.retrain.scores.auc", 1.5),
        (
            lambda d: d["reference"]["target"]["scores"].__setitem__("verbmem_f", True),
            "reference.target.scores.verbmem_f",
            True,
        ),
        (lambda d: d["methods"]["ga_gdr"].__setitem__("selected", "epoch-9"), "methods.ga_gdr.selected", "epoch-9"),
        (
            lambda d: d["methods"]["ga_gdr"]["checkpoints"][2].__setitem__("label", "epoch-1"),
            "methods.ga_gdr.checkpoints[2].label",
            "epoch-1",
        ),
        (
            lambda d: d["methods"]["ga_gdr"]["checkpoints"][0]["ci"].__setitem__("knowmem_f", [50.0, 40.0]),
            "methods.ga_gdr.checkpoints[0].ci.knowmem_f",
            [50.0, 40.0],
        ),
        (
            lambda d: d["methods"]["npo_gdr"]["scalability"][2].__setitem__("fold", 0),
            "methods.npo_gdr.scalability[2].fold",
            0,
        ),
        (
            lambda d: d["methods"]["npo_gdr"]["sustainability"][1].__setitem__("request", 1),
            "methods.npo_gdr.sustainability",
            [1],
        ),
        (lambda d: d["methods"]["npo_klr"].__setitem__("checkpoints", []), "methods.npo_klr.checkpoints", []),
        (lambda d: d["reference"].pop("retrain"), "reference.retrain", None),
        (lambda d: d.__setitem__("methods", []), "methods", []),
    ],
)
def test_bad_field_is_named_with_its_value(tmp_path, doc, mutate, field, value, write_run):
    mutate(doc)
    with pytest.raises(DataError) as err:
        load_results(write_run(tmp_path, doc))
    assert err.value.field == field
    assert err.value.value == value
    assert err.value.file.endswith("results.json")
    assert "\n" not in str(err.value)


def test_every_problem_is_named_one_per_line(tmp_path, doc, write_run):
    doc["name"] = ""
    doc["methods"]["ga_gdr"]["checkpoints"][0]["scores"]["knowmem_r"] = -1
    doc["methods"]["task_vector"]["selected"] = 3
    doc["methods"]["npo_gdr"]["sustainability"][0]["checkpoints"] = [{"label": "epoch-1", "scores": {"auc": 2}}]
    with pytest.raises(DataError) as err:
        load_results(write_run(tmp_path, doc))
    assert err.value.problems == [
        "name: expected a non-empty string (got '')",
        "methods.ga_gdr.checkpoints[0].scores.knowmem_r: out of range [0, 100] (got -1)",
        "methods.npo_gdr.sustainability[0].checkpoints[0].scores.auc: out of range [0, 1] (got 2)",
        "methods.task_vector.selected: expected a string (got 3)",
    ]
    lines = str(err.value).splitlines()
    assert lines[0].endswith("results.json: 4 problems:") and len(lines) == 5
    assert lines[2] == "  - methods.ga_gdr.checkpoints[0].scores.knowmem_r: out of range [0, 100] (got -1)"


def test_metrics_left_out_of_a_checkpoint_are_absent_not_zero(tmp_path, doc, write_run):
    """With selection-only evaluation, non-selected checkpoints hold knowmem_f and knowmem_r only."""
    for ckpt in doc["methods"]["npo_gdr"]["checkpoints"]:
        if ckpt["label"] != "epoch-4":
            for key in ("verbmem_f", "privleak", "auc"):
                ckpt["scores"].pop(key)
    results = load_results(write_run(tmp_path, doc))
    first = results.methods["npo_gdr"].checkpoints[0]
    assert first.get("verbmem_f") is None and first.get("knowmem_f") == 58.8
    assert results.methods["npo_gdr"].selected_checkpoint.get("privleak") == pytest.approx(-3.1, abs=0.01)


def test_blocks_and_keys_this_version_does_not_know_are_passed_over(tmp_path, doc, write_run):
    """A newer musebench may add a block or a key anywhere; this one reads what it knows."""
    before = load_results(write_run(tmp_path / "a", doc))
    doc["newer_block"] = {"anything": [1, 2]}
    doc["methods"]["ga_gdr"]["checkpoints"][0]["newer_key"] = "x"
    doc["reference"]["target"]["scores"]["newer_score"] = 1.0
    after = load_results(write_run(tmp_path / "b", doc))
    assert after.methods == before.methods and after.target == before.target


def test_top_level_list_is_rejected(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps([1, 2]), encoding="utf-8")
    with pytest.raises(DataError, match="expected a JSON object at the top level"):
        load_results(tmp_path)


def test_a_run_still_in_progress_says_what_is_missing(tmp_path, doc, write_run):
    """The runner rewrites results.json as stages finish; early on it has no references and no methods."""
    doc["reference"], doc["methods"] = {}, {}
    with pytest.raises(DataError) as err:
        load_results(write_run(tmp_path, doc))
    assert err.value.problems == [
        "reference.target: missing (has the run evaluated the target model yet?)",
        "reference.retrain: missing (has the run evaluated the retrain model yet?)",
    ]
    partial = load_results(tmp_path, complete=False)  # what compare and the run's own table accept
    assert partial.target is None and partial.methods == {}


def test_a_wrong_field_is_named_in_the_experiment_files_format(tmp_path, doc, write_run):
    """results.json and the experiment file share one walker and one error line: ``FILE: PATH: MESSAGE``."""
    doc["methods"]["ga_gdr"]["checkpoints"][0]["label"] = 7
    with pytest.raises(DataError) as err:
        load_results(write_run(tmp_path, doc))
    assert (
        str(err.value) == f"{tmp_path / 'results.json'}: methods.ga_gdr.checkpoints[0].label: expected a string (got 7)"
    )
