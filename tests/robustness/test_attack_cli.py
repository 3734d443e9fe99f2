"""``musebench attack``: each attack end to end on the tiny model, and bad input as one line, nothing written."""

from __future__ import annotations

import importlib.util
import json

import pytest

from musebench.cli import main

#: small budgets: the tiny corpus is not a mini corpus, so the paper's 128-token generations would apply
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

needs_bnb = pytest.mark.skipif(
    importlib.util.find_spec("bitsandbytes") is None, reason="bitsandbytes (musebench[quant]) not installed"
)


@needs_bnb
def test_quantize_reports_scores_controls_and_recovery(tiny_model_dir, tiny_data_dir, tmp_path, capsys):
    out = tmp_path / "q"
    rc = main(
        [
            "attack",
            "quantize",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(tiny_data_dir),
            "--scheme",
            "nf4",
            "--target",
            str(tiny_model_dir),
            "--metrics",
            "knowmem_f,verbmem_f",
            "--out",
            str(out),
            "--device",
            "cpu",
            *SMALL,
        ]
    )
    assert rc == 0
    doc = json.loads((out / "robustness.json").read_text())
    assert set(doc["quantized"]) == set(doc["full_precision"]) == {"target", "unlearned"}
    assert set(doc["quantized"]["unlearned"]["scores"]) == {"verbmem_f", "knowmem_f"}
    # the same model as target and unlearned: nothing was forgotten, so no recovery can be computed
    assert all(v is None for v in doc["recovery"].values())
    assert "quantization attack (nf4)" in capsys.readouterr().out


def test_relearn_on_a_corpus_without_tags_says_it_split_documents(tiny_model_dir, tiny_data_dir, tmp_path, capsys):
    out = tmp_path / "r"
    rc = main(
        [
            "attack",
            "relearn",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(tiny_data_dir),
            "--fraction",
            "0.5",
            "--steps",
            "2",
            "--retrain",
            str(tiny_model_dir),
            "--out",
            str(out),
            *SMALL,
        ]
    )
    assert rc == 0
    doc = json.loads((out / "robustness.json").read_text())
    assert doc["split"]["unit"] == "document" and doc["split"]["metrics"] == ["verbmem_f"]
    assert set(doc["runs"]) == {"retrain", "unlearned"}
    assert set(doc["runs"]["unlearned"]["after"]["scores"]) == {"verbmem_f"}
    assert "document split" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["quantize", "--scheme", "int4"], "--scheme"),
        (["quantize", "--scheme", "nf4", "--device", "mps"], "'mps'"),
        (["relearn", "--fraction", "1.0"], "--fraction"),
        (["relearn", "--fraction", "0.9"], "--fraction"),  # 0.9 x 2 documents rounds to both: no held-out part
        (["relearn", "--steps", "0"], "--steps"),
    ],
)
def test_bad_flags_are_one_error_and_nothing_is_written(tiny_model_dir, tiny_data_dir, tmp_path, capsys, argv, flag):
    out = tmp_path / "never"
    try:
        rc = main(
            ["attack", argv[0], "--model", str(tiny_model_dir), "--data", str(tiny_data_dir), "--out", str(out)]
            + argv[1:]
        )
    except SystemExit as stop:  # argparse's own refusal (a --scheme not among the flag's choices), exit 2 too
        rc = stop.code
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and flag in err[0] and "Traceback" not in err[0]
    assert not out.exists()


def test_a_model_without_weights_names_the_flag_and_the_directory(tmp_path, tiny_data_dir, capsys):
    empty = tmp_path / "empty-model"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    out = tmp_path / "never"
    rc = main(["attack", "paraphrase", "--model", str(empty), "--data", str(tiny_data_dir), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "--model" in err and "no model weights" in err and str(empty) in err
    assert not out.exists()


def test_paraphrase_needs_the_rephrased_file(tiny_model_dir, tiny_data_dir, tmp_path, capsys):
    rc = main(
        [
            "attack",
            "paraphrase",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(tiny_data_dir),
            "--out",
            str(tmp_path / "p"),
        ]
    )
    assert rc == 2 and "forget_qa_paraphrase.json" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
