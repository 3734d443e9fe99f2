"""A write that fails for lack of space (ENOSPC) is one clear error, leaves no result that looks complete,
and the same command re-run once there is space finishes with the numbers of a run that never failed."""

from __future__ import annotations

import errno
import json
import os

import pytest

from musebench.cli import main
from musebench.data.layout import save_corpus

EVAL_SETTINGS = [
    "--verbmem-max-new-tokens",
    "6",
    "--verbmem-gt-max-tokens",
    "6",
    "--knowmem-max-new-tokens",
    "4",
    "--knowmem-num-shots",
    "1",
    "--privleak-max-length",
    "48",
    "--bootstrap-samples",
    "20",
]


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "error:" in line]


def _leftovers(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name.endswith((".tmp", ".old")))


def test_eval_on_a_full_disk_writes_no_summary_and_a_rerun_completes(
    tmp_path, tiny_corpus, tiny_model_dir, capsys, monkeypatch
):
    data = save_corpus(tiny_corpus, tmp_path / "data")
    argv = [
        "eval",
        "--model",
        str(tiny_model_dir),
        "--data",
        str(data),
        "--retrain-auc",
        "news",
        *EVAL_SETTINGS,
        "--no-progress",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", _disk_full)  # every atomic write fsyncs before its rename
        assert main([*argv, "--out", str(tmp_path / "full")]) == 2
    lines = _error_lines(capsys)
    assert len(lines) == 1 and "No space left on device" in lines[0] and "cannot write" in lines[0]
    assert not (tmp_path / "full" / "summary.json").exists()
    assert not (tmp_path / "full" / "per_example.jsonl").exists()
    assert _leftovers(tmp_path / "full") == []

    assert main([*argv, "--out", str(tmp_path / "full")]) == 0  # space again: the same command completes
    assert main([*argv, "--out", str(tmp_path / "clean")]) == 0
    full, clean = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("full", "clean"))
    assert full["scores"] == clean["scores"] and full["privacy"] == clean["privacy"]


@pytest.mark.slow
def test_unlearn_on_a_full_disk_leaves_no_epoch_model_and_resumes(
    tmp_path, tiny_corpus, tiny_model_dir, capsys, monkeypatch
):
    from transformers import modeling_utils

    data = save_corpus(tiny_corpus, tmp_path / "data")
    out = tmp_path / "run"
    argv = [
        "unlearn",
        "--model",
        str(tiny_model_dir),
        "--data",
        str(data),
        "--method",
        "ga",
        "--num_train_epochs",
        "1",
        "--per_device_train_batch_size",
        "2",
        "--max_len",
        "24",
        "--no_progress",
        "--threads",
        "1",
        "--use_cpu",
        "--out",
        str(out),
    ]
    real_save = modeling_utils.safe_save_file

    def half_written(tensors, filename, metadata=None):
        real_save(tensors, filename, metadata=metadata)
        with open(filename, "r+b") as fh:  # the disk filled up halfway through the weights
            fh.truncate(os.path.getsize(filename) // 2)
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    with monkeypatch.context() as patch:
        patch.setattr(modeling_utils, "safe_save_file", half_written)
        assert main(argv) == 2
    lines = _error_lines(capsys)
    assert len(lines) == 1 and "No space left on device" in lines[0]
    assert not (out / "epoch-1").exists() and _leftovers(out) == []
    assert json.loads((out / "run.json").read_text())["status"] != "complete"

    assert main([*argv, "--resume"]) == 0
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    assert (out / "epoch-1" / "model.safetensors").is_file()
