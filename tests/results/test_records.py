"""The results schema end to end: records written by the experiment's writer read back equal, the file is a
fixed point of read-then-write, and C5 / C6 rows that finish before their main request are not lost."""

from __future__ import annotations

import dataclasses
import json

import pytest

from musebench.errors import DataError
from musebench.experiment.results import ResultsDoc
from musebench.results import (
    Checkpoint,
    MethodResult,
    Reference,
    ScalabilityFold,
    SustainabilityRequest,
    load_results,
    parse_results,
)


def _ckpt(label: str, knowmem_f: float, privacy: dict | None = None) -> Checkpoint:
    scores = {"verbmem_f": knowmem_f / 2, "knowmem_f": knowmem_f, "knowmem_r": 40.0, "auc": 0.4, "privleak": -12.5}
    return Checkpoint(label=label, scores=scores, ci={k: (v - 1, v + 1) for k, v in scores.items()}, privacy=privacy)


def _write_everything(doc: ResultsDoc) -> None:
    """Every writer call the runner makes, in a run's order (C5 rows before the main request, as lines
    running side by side may deliver them)."""
    doc.set_corpus("fake", "abc123", "generated")
    doc.set_provenance({"musebench": "test", "python": "3.x"}, 7, {"bootstrap_samples": 10}, {"name": "t"})
    doc.set_reference(
        "retrain",
        {"scores": {"knowmem_f": 33.0, "auc": 0.48, "privleak": 0.0}, "ci": {"knowmem_f": [32.0, 34.0]}},
        "models/retrain",
    )
    doc.set_retrain_auc(0.48, "measured on the retrain model")
    doc.set_reference(
        "target",
        {"scores": {"knowmem_f": 64.0, "knowmem_r": 55.0}, "ci": {}, "privacy": {"mink": {"auc": 0.1}}},
        "models/target",
    )
    fold = ScalabilityFold(
        fold=1,
        forget_docs=3,
        forget_tokens=120,
        selected="epoch-2",
        selection_reason="the main request's choice (epoch-2), as in the paper",
        scores={"knowmem_f": 20.0, "knowmem_r": 41.0},
        ci={"knowmem_f": (19.0, 21.0)},
        checkpoints=(_ckpt("epoch-2", 20.0),),
        checkpoints_trained=3,
        timing_s={"unlearn": 1.5, "eval": 0.25},
        judged=(Checkpoint(label="epoch-1", scores={"knowmem_f": 40.0}),),
    )
    doc.set_follow_up("ga", "scalability", [fold])
    doc.set_method(
        MethodResult(
            name="ga",
            method="ga",
            config={"method": "ga", "epochs": 3},
            checkpoints=(_ckpt("epoch-1", 40.0), _ckpt("epoch-2", 30.0, {"zlib": {"auc": 0.3}})),
            checkpoints_trained=3,
            selected="epoch-2",
            selection_reason="first checkpoint with knowmem_f <= retrain",
            timing_s={"unlearn": 2.0, "eval": 1.0},
        )
    )
    doc.set_follow_up(
        "ga",
        "sustainability",
        [
            SustainabilityRequest(
                request=1, fold=1, forget_docs=1, started_from="target", selected="epoch-2", scores={"knowmem_r": 39.0}
            ),
            SustainabilityRequest(
                request=2,
                fold=2,
                forget_docs=1,
                started_from="sust/ga/request-1/epoch-2",
                selected="epoch-1",
                scores={"knowmem_r": 30.0},
            ),
        ],
    )
    doc.set_robustness(
        {
            "settings": {"quantize": ["nf4"]},
            "notes": [],
            "controls": {},
            "methods": {
                "ga": {
                    "checkpoint": "epoch-2",
                    "attacks": {"quantize-nf4": {"scores": {"knowmem_f": 31.0}, "measure": {"knowmem_f": 0.03}}},
                }
            },
        }
    )
    doc.set_timing(total=12.345, build=3.0)
    doc.set_outcome(
        "ray",
        [
            {
                "line": "methods/npo",
                "stage": "methods/npo/unlearn",
                "error": "boom",
                "log": "logs/npo.log",
                "attempts": 2,
            }
        ],
    )
    doc.set_report("report")


def test_written_records_read_back_equal(tmp_path):
    doc = ResultsDoc(tmp_path, "t")
    _write_everything(doc)
    back = load_results(tmp_path)
    assert dataclasses.replace(back, source=None) == doc.record
    assert back.source == tmp_path / "results.json"
    ga = back.methods["ga"]
    assert [f.fold for f in ga.scalability] == [1] and ga.scalability[0].judged[0].scores == {"knowmem_f": 40.0}
    assert ga.selected_checkpoint.privacy == {"zlib": {"auc": 0.3}}
    assert back.target == Reference(
        scores={"knowmem_f": 64.0, "knowmem_r": 55.0}, privacy={"mink": {"auc": 0.1}}, model="models/target"
    )
    assert back.failed[0].attempts == 2 and back.report == "report" and back.timing_s == {"total": 12.35, "build": 3.0}


def test_the_file_is_a_fixed_point_of_reading_and_writing(tmp_path):
    doc = ResultsDoc(tmp_path, "t")
    _write_everything(doc)
    on_disk = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert load_results(tmp_path).to_dict() == on_disk
    # the selected checkpoint's scores are repeated for a reader of the raw JSON, from the checkpoint itself
    ga = on_disk["methods"]["ga"]
    assert ga["selected_scores"] == ga["checkpoints"][1]["scores"] and ga["selected_ci"]["knowmem_f"] == [29.0, 31.0]
    assert list(ga)[-2:] == ["scalability", "sustainability"]


def test_follow_ups_wait_for_their_main_request(tmp_path):
    """A C5 row that finishes first is kept in memory, never written as a method without checkpoints."""
    doc = ResultsDoc(tmp_path, "t")
    doc.set_follow_up("ga", "scalability", [ScalabilityFold(fold=2, scores={"knowmem_r": 1.0})])
    assert doc.data["methods"] == {}
    doc.set_method(MethodResult(name="ga", checkpoints=(_ckpt("epoch-1", 40.0),), selected="epoch-1"))
    assert [f["fold"] for f in doc.data["methods"]["ga"]["scalability"]] == [2]
    with pytest.raises(ValueError, match="unknown follow-up block"):
        doc.set_follow_up("ga", "robustness", [])


def test_a_partial_file_reads_while_the_run_goes_on_but_not_for_the_report(tmp_path):
    doc = ResultsDoc(tmp_path, "t")
    doc.set_corpus("fake", "abc", "here")
    assert load_results(tmp_path, complete=False).corpus["name"] == "fake"
    with pytest.raises(DataError, match="2 problems") as err:
        load_results(tmp_path)
    assert [p.split(":")[0] for p in err.value.problems] == ["reference.target", "reference.retrain"]


def test_unknown_score_keys_are_left_out_and_follow_up_rows_sorted(tmp_path):
    doc = ResultsDoc(tmp_path, "t")
    _write_everything(doc)
    raw = doc.data
    raw["methods"]["ga"]["checkpoints"][0]["scores"]["newer_score"] = 3.0
    raw["methods"]["ga"]["sustainability"].reverse()
    raw["failed"][0]["error"] = ""  # str() of an exception raised without a message
    back = parse_results(raw, tmp_path / "results.json")
    assert "newer_score" not in back.methods["ga"].checkpoints[0].scores and back.failed[0].error == ""
    assert [r.request for r in back.methods["ga"].sustainability] == [1, 2]
