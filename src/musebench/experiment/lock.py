"""One ``musebench run`` per run directory at a time: two would overwrite each other's stages."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from musebench.errors import ConfigError

LOCK_FILE = ".musebench-run.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir/.musebench-run.lock`` (our pid) while the block runs; a stale lock is taken over."""
    path = Path(run_dir) / LOCK_FILE
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                raise ConfigError(f"another musebench process (pid {pid}) is running in this directory; wait for "
                                  f"it or choose another --out", file=run_dir) from None
            path.unlink(missing_ok=True)  # left by a process that died
    else:
        raise ConfigError("cannot take the run directory's lock", file=path)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()}\n")
        yield
    finally:
        path.unlink(missing_ok=True)
