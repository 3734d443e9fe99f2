"""One ``musebench run`` per run directory at a time: two would overwrite each other's stages."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from musebench.io import OWNER_MARK, atomic_write_json, take_lock

LOCK_FILE = ".musebench-run.lock"


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's ``filelock`` lock while the block runs.

    A second live process is refused at once; a lock whose holder was killed (-9 included) is free again,
    because the kernel drops a dead process's flock, and the next run takes it over.
    """
    run_dir = Path(run_dir)
    lock = take_lock(run_dir, "--out", LOCK_FILE)
    try:
        atomic_write_json(run_dir / OWNER_MARK, {"written_by": "musebench", "pid": os.getpid()})
        yield
    finally:
        lock.release()
