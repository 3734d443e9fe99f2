"""A real full disk (``ENOSPC`` from the kernel, not an injected ``OSError``): a small tmpfs the writers fill.

safetensors (weights), torch (``torch.save``) and the JSON writer each fail in their own way: a Rust
``SafetensorError``, a ``RuntimeError`` from torch's zip writer that keeps no errno, an ``OSError``. Every one
is one error line naming the output and exit 2, and nothing half-written is left that looks complete.
Needs root and ``mount -t tmpfs`` (skipped with the reason otherwise).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from pathlib import Path

import pytest

from musebench.io import storage_failure


@contextlib.contextmanager
def small_disk(size: str):
    """A tmpfs of ``size`` mounted on a fresh directory; skips the test where mounting is not allowed."""
    import tempfile

    where = Path(tempfile.gettempdir()) / f"musebench-full-{uuid.uuid4().hex[:8]}"
    where.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as err:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {err}")
    if done.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True, check=False)
        with contextlib.suppress(OSError):
            where.rmdir()


def _fill(disk: Path) -> None:
    """Leave a few kB free."""
    with contextlib.suppress(OSError), open(disk / "filler", "wb") as fh:
        while True:
            fh.write(b"\0" * 4096)
            fh.flush()


def test_each_writers_real_disk_full_error_is_recognised():
    import torch
    from safetensors.torch import save_file

    from musebench.io import atomic_write_json

    tensors = {"w": torch.zeros(50_000)}
    failures = []
    with small_disk("64k") as disk:
        for write in (
            lambda: save_file(tensors, str(disk / "m.safetensors")),
            lambda: torch.save(tensors, disk / "o.pt"),
            lambda: atomic_write_json(disk / "r.json", list(range(50_000))),
        ):
            with pytest.raises(Exception) as err:  # each library raises its own type
                write()
            failures.append((type(err.value).__name__, storage_failure(err.value)))
            for p in disk.iterdir():
                p.unlink()
    assert [name for name, _ in failures] == ["SafetensorError", "RuntimeError", "OSError"]
    for name, failure in failures:
        assert failure is not None and failure[0].startswith("cannot write"), (name, failure)
    assert "No space left on device" in failures[0][1][0] and "No space left on device" in failures[2][1][0]
    assert storage_failure(RuntimeError("shape mismatch")) is None and storage_failure(ValueError("x")) is None


def _one_error(capsys) -> list[str]:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    return [line for line in captured.err.splitlines() if "error:" in line]


def test_unlearn_on_a_full_disk_is_one_line_and_leaves_no_epoch_model(tiny_corpus, tiny_model_dir, tmp_path, capsys):
    from musebench.cli import main
    from musebench.data.layout import save_corpus

    data = save_corpus(tiny_corpus, tmp_path / "data")
    with small_disk("256k") as disk:
        out = disk / "run"
        rc = main(
            [
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
        )
        lines = _one_error(capsys)
        assert rc == 2 and len(lines) == 1, lines
        assert "cannot write" in lines[0] and str(disk) in lines[0]
        assert not (out / "epoch-1" / "model.safetensors").exists()
        record = out / "run.json"
        assert not record.exists() or json.loads(record.read_text())["status"] != "complete"
        assert not [p for p in out.rglob("*") if p.name.endswith((".tmp", ".old"))]


def test_eval_on_a_full_disk_is_one_line_and_writes_no_summary(tiny_corpus, tiny_model_dir, tmp_path, capsys):
    from musebench.cli import main
    from musebench.data.layout import save_corpus

    data = save_corpus(tiny_corpus, tmp_path / "data")
    with small_disk("256k") as disk:
        out = disk / "eval"
        out.mkdir()
        _fill(disk)
        rc = main(
            [
                "eval",
                "--model",
                str(tiny_model_dir),
                "--data",
                str(data),
                "--retrain-auc",
                "news",
                "--verbmem-max-new-tokens",
                "4",
                "--knowmem-max-new-tokens",
                "4",
                "--bootstrap-samples",
                "10",
                "--no-progress",
                "--threads",
                "1",
                "--device",
                "cpu",
                "--out",
                str(out),
            ]
        )
        lines = _one_error(capsys)
        assert rc == 2 and len(lines) == 1, lines
        assert "cannot write" in lines[0] and "No space left on device" in lines[0]
        assert not (out / "summary.json").exists()
