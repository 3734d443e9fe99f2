"""A mistyped local model path fails at once, offline, naming the path: no hub look-up, no retries, no work."""

from __future__ import annotations

import pytest

from musebench.cli import main
from musebench.commands.common import looks_local


@pytest.fixture()
def no_hub(monkeypatch):
    """Any attempt to load a model or tokenizer (which would reach for the hub) fails the test."""
    import transformers

    def refuse(*args, **kwargs):
        raise AssertionError("a model or tokenizer load was attempted")

    for cls in (transformers.AutoTokenizer, transformers.AutoModelForCausalLM):
        monkeypatch.setattr(cls, "from_pretrained", refuse)


def test_what_counts_as_a_local_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    (tmp_path / "models").mkdir()
    assert looks_local("models/targt")  # its first part is a local directory: a typo, not a hub organisation
    assert looks_local("./targt") and looks_local("/abs/targt") and looks_local("~/targt")
    assert looks_local("runs/npo/epoch-3") and looks_local("org/name/")
    assert not looks_local("muse-bench/MUSE-News_target") and not looks_local("gpt2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert looks_local("muse-bench/MUSE-News_target")


@pytest.mark.parametrize(
    "command",
    [
        ["eval", "--data", "nowhere-data", "--out", "out-eval"],
        ["unlearn", "--data", "nowhere-data", "--method", "ga", "--out", "out-unlearn"],
        ["attack", "paraphrase", "--data", "nowhere-data", "--out", "out-attack"],
    ],
)
def test_missing_model_dir_is_one_line_naming_it_before_any_work(command, tmp_path, monkeypatch, capsys, no_hub):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    argv = (
        command[:2] + ["--model", "models/targt"] + command[2:]
        if command[0] == "attack"
        else command[:1] + ["--model", "models/targt"] + command[1:]
    )
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "models/targt" in err[0] and "model directory does not exist" in err[0], err
    assert "nowhere-data" not in err[0]  # the model is checked first: nothing else was read
    assert not (tmp_path / command[-1]).exists() or not any((tmp_path / command[-1]).iterdir())


def test_a_directory_without_weights_is_named_too(tmp_path, capsys, no_hub):
    (tmp_path / "empty").mkdir()
    assert main(["eval", "--model", str(tmp_path / "empty"), "--data", "x", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "config.json is missing" in err and str(tmp_path / "empty") in err
