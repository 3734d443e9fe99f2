"""``musebench unlearn``: flags map onto UnlearnConfig, a real run writes its outputs, bad input exits 2."""

from __future__ import annotations

import json

import pytest

from musebench.cli import main
from musebench.data import save_corpus


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory, tiny_corpus):
    return save_corpus(tiny_corpus, tmp_path_factory.mktemp("corpus"))


def test_cli_runs_a_method_and_writes_epochs(trained_model_dir, corpus_dir, tmp_path, capsys):
    out = tmp_path / "run"
    config = tmp_path / "opts.yaml"
    config.write_text("learning_rate: 0.5\nper_device_train_batch_size: 2\nbeta: 0.2\n")
    code = main(
        [
            "unlearn",
            "--model",
            str(trained_model_dir),
            "--data",
            str(corpus_dir),
            "--method",
            "npo_gdr",
            "--out",
            str(out),
            "--config",
            str(config),
            "--learning_rate",
            "1e-3",
            "--num_train_epochs",
            "2",
            "--max_len",
            "32",
            "--no_progress",
            "--threads",
            "1",
            "--forget-split",
            "scal/forget_1",
        ]
    )
    assert code == 0
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["learning_rate"] == 1e-3  # the flag overrides the file
    assert record["config"]["per_device_train_batch_size"] == 2 and record["config"]["beta"] == 0.2
    assert record["config"]["progress"] is False and record["forget_split"] == "scal/forget_1"
    assert (out / "epoch-2" / "model.safetensors").is_file()
    printed = capsys.readouterr().out
    assert "epoch-1" in printed and "mean loss" in printed and "run.json" in printed


@pytest.mark.parametrize(
    "flags,needle",
    [
        (["--learning_rate", "-1"], "learning_rate"),
        (["--loss-form", "paper"], "loss_form"),
        (["--forget-split", "sust/forget_7"], "sust fold 7"),
    ],
)
def test_bad_values_exit_2_with_one_line(trained_model_dir, corpus_dir, tmp_path, capsys, flags, needle):
    code = main(
        [
            "unlearn",
            "--model",
            str(trained_model_dir),
            "--data",
            str(corpus_dir),
            "--method",
            "ga",
            "--out",
            str(tmp_path / "x"),
            "--no-progress",
            *flags,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and needle in err


def test_unknown_yaml_option_and_alphas(tmp_path, capsys, corpus_dir, trained_model_dir):
    bad = tmp_path / "bad.yaml"
    bad.write_text("learn_rate: 0.1\n")
    code = main(
        [
            "unlearn",
            "--model",
            str(trained_model_dir),
            "--data",
            str(corpus_dir),
            "--method",
            "ga",
            "--out",
            str(tmp_path / "y"),
            "--config",
            str(bad),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "learn_rate" in err and "did you mean" in err and "learning_rate" in err

    from musebench.cli import build_parser
    from musebench.commands.unlearn import config_from_args

    args, options = build_parser().parse_known_args(
        [
            "unlearn",
            "--model",
            "m",
            "--data",
            "d",
            "--method",
            "whp",
            "--out",
            "o",
            "--alphas",
            "1",
            "2.5",
            "8",
            "--activation_checkpointing",
        ]
    )
    args.options = options
    config = config_from_args(args)
    assert config.alphas == [1.0, 2.5, 8.0] and config.activation_checkpointing is True


def test_flags_a_command_does_not_take_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["ls", "methods", "--learning_rate", "1"])
    assert exit_.value.code == 2 and "unrecognized arguments: --learning_rate 1" in capsys.readouterr().err


@pytest.mark.parametrize("rank, prints", [("0", True), ("1", False)])
def test_only_the_main_process_prints_the_result(
    corpus_dir, tiny_model_dir, tmp_path, capsys, monkeypatch, rank, prints
):
    """Under accelerate launch / torchrun every process returns the run; only rank 0 prints it."""
    import musebench.unlearn
    from musebench.unlearn.config import Checkpoint, UnlearnRun

    def finished_run(model, corpus, config, out, **kwargs):
        return UnlearnRun(
            method=config.method,
            out_dir=tmp_path,
            checkpoints=[Checkpoint("epoch-1", tmp_path)],
            config={},
            history={"epochs": [{"epoch": 1, "loss": 1.5}]},
            status="complete",
        )

    monkeypatch.setattr(musebench.unlearn, "run_unlearning", finished_run)
    monkeypatch.setenv("RANK", rank)
    code = main(
        [
            "unlearn",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(corpus_dir),
            "--method",
            "ga",
            "--out",
            str(tmp_path / "run"),
            "--threads",
            "1",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert ("mean loss 1.5000" in printed) == prints and (printed == "") != prints
