"""One ``musebench run`` per run directory at a time: two would overwrite each other's stages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from musebench.io import RUN_LOCK_NAME, check_output_dir, foreign_entries, take_lock, write_mark

LOCK_FILE = RUN_LOCK_NAME
KIND = "experiment"


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's ``filelock`` lock while the block runs, and mark it as an experiment's.

    A second live process is refused at once; a lock whose holder was killed (-9 included) is free again,
    because the kernel drops a dead process's flock, and the next run takes it over. The mark lists what
    the run wrote (when the block ends, even by an error: the stages written so far are the run's).
    """
    run_dir = Path(run_dir)
    check_output_dir(run_dir, kind=KIND, force=True)  # never another command's directory (the demo calls this)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = take_lock(run_dir, "--out", LOCK_FILE)
    try:
        not_ours = foreign_entries(run_dir)
        write_mark(run_dir, KIND, not_ours, open=True)  # killed with -9: the next run resumes what it wrote
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                write_mark(run_dir, KIND, not_ours)
    finally:
        lock.release()
