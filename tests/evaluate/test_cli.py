"""``musebench eval`` end to end on the tiny fixtures."""

from __future__ import annotations

import json

import pytest

from musebench.cli import main
from musebench.data import save_corpus


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory, tiny_corpus):
    return save_corpus(tiny_corpus, tmp_path_factory.mktemp("corpus"))


SMALL = [
    "--verbmem-max-new-tokens",
    "8",
    "--knowmem-max-new-tokens",
    "4",
    "--privleak-max-length",
    "32",
    "--bootstrap-samples",
    "20",
    "--threads",
    "1",
    "--no-progress",
]


def test_eval_writes_summary_with_measured_retrain_auc(tiny_model_dir, corpus_dir, tmp_path, capsys):
    out = tmp_path / "eval"
    code = main(
        [
            "eval",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(corpus_dir),
            "--retrain",
            str(tiny_model_dir),
            "--out",
            str(out),
            "--batch-size",
            "4",
            *SMALL,
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scores"]["privleak"] == pytest.approx(0.0)  # the model is its own retrain model
    assert summary["privacy"]["retrain_auc_source"].startswith("measured")
    assert summary["provenance"]["settings"]["verbmem_max_new_tokens"] == 8
    assert summary["provenance"]["settings"]["batch_size"] == 4
    assert (out / "per_example.jsonl").stat().st_size > 0
    assert "VerbMem" in capsys.readouterr().out


def test_eval_metrics_subset_and_release_constant(tiny_model_dir, corpus_dir, tmp_path):
    out = tmp_path / "eval"
    assert (
        main(
            [
                "eval",
                "--model",
                str(tiny_model_dir),
                "--data",
                str(corpus_dir),
                "--metrics",
                "knowmem_r,privleak",
                "--retrain-auc",
                "books",
                "--out",
                str(out),
                *SMALL,
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["scores"]) == {"knowmem_r", "auc", "privleak"}
    assert summary["privacy"]["retrain_auc"] == 0.5393


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--metrics", "bogus"], "unknown metric"),
        (["--retrain-auc", "1.5"], "retrain_auc"),
        (["--set", "nonsense=3"], "--set"),
    ],
)
def test_eval_bad_input_is_one_line_exit_2(tiny_model_dir, corpus_dir, tmp_path, capsys, extra, message):
    code = main(
        [
            "eval",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(corpus_dir),
            "--out",
            str(tmp_path / "o"),
            *extra,
            *SMALL,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_eval_missing_model_dir(corpus_dir, tmp_path, capsys):
    code = main(
        ["eval", "--model", str(tmp_path / "nope"), "--data", str(corpus_dir), "--out", str(tmp_path / "o"), *SMALL]
    )
    assert code == 2 and "does not exist" in capsys.readouterr().err
