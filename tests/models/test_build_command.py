"""musebench build on the command line: builds, reports the path, one-line errors with exit 2."""

from __future__ import annotations

import json

from musebench.cli import main

MICRO_FLAGS = [
    "--size",
    "tiny",
    "--hidden-size",
    "32",
    "--num-layers",
    "1",
    "--epochs",
    "1",
    "--block-size",
    "64",
    "--base-epochs",
    "1",
    "--dtype",
    "float32",
    "--device",
    "cpu",
    "--threads",
    "1",
    "--no-progress",
]


def test_build_both_writes_two_models(mini_data_dir, tmp_path, capsys):
    assert main(["build", "both", "--data", str(mini_data_dir), "--out", str(tmp_path)] + MICRO_FLAGS) == 0
    captured = capsys.readouterr()
    assert "retrain:" in captured.out and "target:" in captured.out
    assert "constant-answer baseline" in captured.out
    # an ungated size says so, in one line, and still builds
    assert [line for line in captured.err.splitlines() if line.startswith("warning:")] == [
        "warning: size 'tiny' does not pass the mini benchmark's validity gates (see benchmarks/mini_validity.md); "
        "build the 'default' size for numbers you report"
    ]
    for role in ("target", "retrain"):
        record = json.loads((tmp_path / role / "build.json").read_text())
        assert record["role"] == role and record["recipe"]["num_layers"] == 1 and record["recipe"]["bf16"] is False
    target, retrain = (json.loads((tmp_path / r / "build.json").read_text()) for r in ("target", "retrain"))
    # both fine-tune the one base, for the same number of steps: the retrain reads filler for the forget side
    assert (tmp_path / "base" / "model.safetensors").is_file()
    assert target["start"] == retrain["start"] and target["start"]["kind"] == "mini-base"
    assert target["steps"] == retrain["steps"] and retrain["filler_documents"] > 0


def test_bad_input_is_one_line_exit_2(tmp_path, capsys, mini_data_dir):
    assert main(["build", "target", "--data", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--data" in err
    assert main(["build", "target", "--data", str(mini_data_dir), "--out", str(tmp_path), "--epochs", "0"]) == 2
    assert "recipe.epochs" in capsys.readouterr().err
