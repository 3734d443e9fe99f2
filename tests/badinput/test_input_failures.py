"""Inputs that were a traceback, a hang or a silent drop: hostile YAML, huge values in error lines, nested JSON,
pickles where tensors belong, hub pushes, unreadable files. Each is one line."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from musebench.errors import ConfigError, DataError, ModelError
from musebench.io import parse_yaml, read_json, read_yaml

sys.path.insert(0, str(Path(__file__).parent))
from badinput_ownership import ALIAS_BOMB


def test_a_yaml_alias_bomb_is_refused_before_anything_expands_it(tmp_path):
    assert len(ALIAS_BOMB.encode()) < 600
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    with pytest.raises(ConfigError, match="expands to more than 100,000 values") as err:
        read_yaml(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_yaml_aliases_within_the_budget_still_work():
    assert parse_yaml("base: &b {lr: 1.0e-5, epochs: 2}\nga: *b\nnpo: {<<: *b, epochs: 3}\n") == {
        "base": {"lr": 1e-5, "epochs": 2},
        "ga": {"lr": 1e-5, "epochs": 2},
        "npo": {"lr": 1e-5, "epochs": 3},
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("methods: {ga: {}, ga: {lr: 1.0e-4}}\n", "key 'ga' is given twice"),
        ("&a [*a]\n", "refers to itself"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
)
def test_hostile_yaml_is_one_line(text, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_yaml(text, file="x.yaml")
    assert "\n" not in str(err.value)


def test_a_too_large_yaml_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * (1 << 20) + "\n")
    with pytest.raises(ConfigError, match="bytes"):
        read_yaml(path)


def test_an_error_never_expands_a_shared_value():
    """The value an alias bomb parses to (shared lists, 10^9 leaves once expanded) shows in a short line."""
    value = ["lol"] * 9
    for _ in range(9):
        value = [value] * 9
    text = str(ConfigError("bad", field="x", value=value))
    assert len(text) < 200 and text.startswith("x: bad (got [[")


def test_deeply_nested_json_is_one_data_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="nested too deeply") as err:
        read_json(path)
    assert str(path) in str(err.value)


def test_a_shard_index_naming_a_pickle_is_refused_before_loading(tmp_path):
    from musebench.models.loading import check_model_dir

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "model-00001.safetensors", "b": "evil.bin"}})
    )
    with pytest.raises(ModelError, match="not a safetensors file") as err:
        check_model_dir(tmp_path)
    assert "evil.bin" in str(err.value) and "model.safetensors.index.json" in str(err.value)
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "../x.safetensors"}}))
    with pytest.raises(ModelError, match="beside it"):
        check_model_dir(tmp_path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_tampered_trainer_checkpoint_is_refused_before_unpickling(tmp_path, monkeypatch):
    import torch

    from musebench.unlearn.resume import check_pickled_files

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "checkpoint-2"
    folder.mkdir()
    torch.save({"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 1e-5}]}, folder / "optimizer.pt")
    torch.save({"last_epoch": 2}, folder / "scheduler.pt")
    check_pickled_files(folder)  # a Trainer's own files pass
    (folder / "rng_state.pth").write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(ModelError, match="not a plain tensor file") as err:
        check_pickled_files(folder)
    assert "rng_state.pth" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "PWNED").exists()


def test_push_to_hub_is_refused_unless_asked_for_with_a_token(monkeypatch):
    from musebench.commands.unlearn import check_hub_push

    class Config:
        push_to_hub, hub_token = True, None

    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="--allow-hub-push"):
        check_hub_push(Config(), allowed=False)
    with pytest.raises(ConfigError, match="needs a token"):
        check_hub_push(Config(), allowed=True)
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    check_hub_push(Config(), allowed=True)


def test_an_experiment_never_pushes_to_the_hub():
    from musebench.experiment.adapters import validate_method

    assert validate_method("ga", {"push_to_hub": True}) == [
        "push_to_hub: an experiment never uploads its models (musebench unlearn --allow-hub-push does)"
    ]


def _without_file_override() -> None:
    """In the child, before exec: drop the capabilities that let root read any file (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH) from the bounding set, so file permissions apply to it as to any other user."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


def _can_drop() -> str | None:
    if not sys.platform.startswith("linux"):
        return "Linux capabilities only"
    probe = subprocess.run(
        [sys.executable, "-c", "pass"], preexec_fn=_without_file_override, capture_output=True, check=False
    )
    return None if probe.returncode == 0 else "cannot drop CAP_DAC_OVERRIDE here"


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "validate", "{data}"],
        ["data", "show", "{data}"],
        [
            "eval",
            "--model",
            "{model}",
            "--data",
            "{data}",
            "--retrain-auc",
            "news",
            "--out",
            "{out}",
            "--no-progress",
            "--threads",
            "1",
            "--device",
            "cpu",
        ],
    ],
)
def test_an_unreadable_corpus_file_is_one_line(tmp_path, tiny_corpus, tiny_model_dir, argv):
    """A real PermissionError: the forget split is mode 000 and the command runs without root's override
    (as a user who may not read it)."""
    try:
        reason = _can_drop()
    except OSError as err:
        reason = str(err)
    if reason:
        pytest.skip(reason)
    from musebench.data.layout import save_corpus

    data = save_corpus(tiny_corpus, tmp_path / "data")
    (data / "raw" / "forget.json").chmod(0o000)
    args = [a.format(data=data, model=tiny_model_dir, out=tmp_path / "out") for a in argv]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "musebench.cli", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
        preexec_fn=_without_file_override,
        cwd=tmp_path,
        check=False,
    )
    errors = [line for line in done.stderr.splitlines() + done.stdout.splitlines() if "error:" in line]
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert len(errors) == 1 and "raw/forget.json" in errors[0] and "ermission denied" in errors[0], errors
    assert not (tmp_path / "out").exists()


def test_the_checkpoint_check_reads_only_what_the_trainer_reads(tmp_path):
    """``training_args.bin`` is a whole pickled object the Trainer never loads back: it must not be refused."""
    import torch

    from musebench.unlearn.resume import check_pickled_files

    torch.save({"last_epoch": 1}, tmp_path / "scheduler.pt")
    (tmp_path / "training_args.bin").write_bytes(pickle.dumps({"an": object.__name__}) + pickle.dumps(_Evil()))
    check_pickled_files(tmp_path)
