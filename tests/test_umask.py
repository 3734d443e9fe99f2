"""Outputs keep the user's umask: atomic writes go through private temporary files (0600 / 0700), but the
results they leave are readable as the user's umask says, not owner-only."""

from __future__ import annotations

import os
import stat

import pytest

from musebench.io import atomic_directory, atomic_file, atomic_write_json


@pytest.fixture()
def umask():
    def set_to(value: int) -> None:
        os.umask(value)

    old = os.umask(0o022)
    yield set_to
    os.umask(old)


@pytest.mark.parametrize(
    "mask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)]
)
def test_files_and_directories_follow_the_umask(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    result = atomic_write_json(tmp_path / "results.json", {"a": 1})
    assert stat.S_IMODE(result.stat().st_mode) == file_mode
    with atomic_directory(tmp_path / "model") as tmp:
        (tmp / "weights").write_bytes(b"x")
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == dir_mode


def test_a_binary_atomic_file_follows_the_umask_and_a_failed_write_leaves_nothing(tmp_path, umask):
    umask(0o022)
    with atomic_file(tmp_path / "scores.npz", "wb") as fh:
        fh.write(b"\x00\x01")
    assert (tmp_path / "scores.npz").read_bytes() == b"\x00\x01"
    assert stat.S_IMODE((tmp_path / "scores.npz").stat().st_mode) == 0o644
    with pytest.raises(RuntimeError), atomic_file(tmp_path / "scores.npz", "wb") as fh:
        fh.write(b"half")
        raise RuntimeError("interrupted")
    assert (tmp_path / "scores.npz").read_bytes() == b"\x00\x01"  # the old file stands, no temporary is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.npz"]
