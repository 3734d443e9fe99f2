"""Atomic file writes and small JSON helpers (writing atomically, reading with one clear error).

Every result and checkpoint is written to a temporary file in the target directory and then moved into
place with ``os.replace``, so a crash never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def user_mode(directory: bool = False) -> int:
    """The mode ``open`` / ``mkdir`` would give under the user's umask (temporary files are created private:
    0600 / 0700; results must not stay owner-only when the user's umask says otherwise)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, user_mode())
        with os.fdopen(fd, "w", encoding=encoding) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 2) -> Path:
    """Serialise ``obj`` as JSON (UTF-8, non-ASCII kept) and write it atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False, sort_keys=False) + "\n")


def atomic_write_jsonl(path: str | Path, rows: Iterable[Any]) -> Path:
    """Write one JSON object per line, atomically."""
    return atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


@contextlib.contextmanager
def atomic_directory(path: str | Path, keep: Iterable[str] = ()) -> Iterator[Path]:
    """Yield a temporary sibling directory; on success it replaces ``path`` in one rename.

    Used for checkpoints and model directories: either the whole directory is there or none of it. Only a
    directory is ever replaced (a file at ``path`` is refused, never moved aside). Entries of the old
    directory named in ``keep`` that the new one lacks are carried over (renamed, so a lock held on one of
    them stays held): the output-directory mark and lock, or a user's files under ``--force``.
    """
    from musebench.errors import ConfigError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError("exists and is not a directory; musebench replaces only directories it wrote", file=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        tmp.chmod(user_mode(directory=True))
        yield tmp
        if path.exists():
            for name in keep:
                if (path / name).exists() and not (tmp / name).exists():
                    os.replace(path / name, tmp / name)
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


#: Written into every output directory musebench claims: what is in it from then on is musebench's.
OWNER_MARK = ".musebench"
#: The ``filelock`` lock file of an output directory (flock: the kernel drops it when its holder dies).
LOCK_NAME = ".musebench.lock"
OWN_ENTRIES = (OWNER_MARK, LOCK_NAME)


def _mark(path: Path) -> dict | None:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((path / OWNER_MARK).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    return None


def foreign_entries(path: Path, owned_if: Iterable[str] = ()) -> list[str]:
    """Names in directory ``path`` that musebench did not write.

    A directory with our mark lists the foreign names it held when it was claimed (``--force``); one with a
    record of ours (``owned_if``) holds none; any other directory: everything in it.
    """
    path = Path(path)
    mark = _mark(path)
    if mark is not None:
        return sorted(n for n in mark.get("not_ours", []) if isinstance(n, str) and (path / n).exists())
    if any((path / name).exists() for name in owned_if):
        return []
    return sorted(p.name for p in path.iterdir() if p.name not in OWN_ENTRIES)


def is_ours(path: Path, owned_if: Iterable[str] = ()) -> bool:
    """True for an empty directory or one musebench marked or recorded a result in."""
    path = Path(path)
    return _mark(path) is not None or any((path / n).exists() for n in owned_if) or not foreign_entries(path)


def check_output_dir(path: str | Path, *, flag: str = "--out", owned_if: Iterable[str] = (),
                     force: bool = False) -> Path:
    """Refuse, before any work, an output path that is a file, is not writable, or is a directory holding
    files musebench did not write (unless ``force``). ``owned_if``: records whose presence proves a
    directory is ours (``run.json``, ``summary.json``...)."""
    from musebench.errors import ConfigError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError("exists and is not a directory", file=path, field=flag)
    if path.is_dir():
        foreign = [] if is_ours(path, owned_if) else foreign_entries(path, owned_if)
        if foreign and not force:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise ConfigError(f"directory holds files musebench did not write ({shown}); choose another {flag} "
                              "or pass --force to write into it anyway (its files are kept)", file=path,
                              field=flag)
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError("directory is not writable", file=path, field=flag)
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"cannot create it: {parent} is not a directory", file=path, field=flag)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot create it: {parent} is not writable", file=path, field=flag)
    return path


@contextlib.contextmanager
def output_dir(path: str | Path, *, flag: str = "--out", owned_if: Iterable[str] = (), force: bool = False,
               lock_name: str = LOCK_NAME) -> Iterator[Path]:
    """Claim an output directory for the block: checked, created, locked and marked as musebench's.

    A second writer on the same directory fails at once naming the holder; a lock left by a process killed
    with -9 is free again (the kernel releases flock locks with the process) and is taken over. When the
    block fails before writing anything, what this call created (the directory, its mark, its lock) goes.
    """
    from musebench.errors import ConfigError

    path = check_output_dir(path, flag=flag, owned_if=owned_if, force=force)
    created = []
    probe = path
    while not probe.exists():
        created.append(probe)
        probe = probe.parent
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create it: {err.strerror}", file=path, field=flag) from err
    lock = take_lock(path, flag, lock_name)
    marked = not (path / OWNER_MARK).exists()
    not_ours = foreign_entries(path, owned_if)
    ok = False
    try:
        atomic_write_json(path / OWNER_MARK, {"written_by": "musebench", "pid": os.getpid(), "not_ours": not_ours})
        yield path
        ok = True
    finally:
        lock.release()
        if not ok:
            _undo_claim(path, lock_name, marked, created)


def take_lock(path: Path, flag: str = "--out", lock_name: str = LOCK_NAME):
    """Acquire (without waiting) the ``filelock`` lock of directory ``path``; the caller releases it."""
    from filelock import FileLock, Timeout

    from musebench.errors import ConfigError

    lock = FileLock(str(Path(path) / lock_name), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ConfigError(f"another musebench process{_holder(Path(path))} is writing to this directory; wait "
                          f"for it or choose another {flag}", file=path, field=flag) from None
    except OSError as err:
        raise ConfigError(f"cannot lock it: {err.strerror}", file=path, field=flag) from err
    return lock


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
        pid = int(json.loads((path / OWNER_MARK).read_text(encoding="utf-8"))["pid"])
        return f" (pid {pid})"
    return ""


def _undo_claim(path: Path, lock_name: str, marked: bool, created: list[Path]) -> None:
    """Remove what claiming wrote when nothing else was written (a failed command leaves nothing)."""
    with contextlib.suppress(OSError):
        left = {p.name for p in path.iterdir()}
        if marked and left <= {OWNER_MARK, lock_name}:
            for name in left:
                (path / name).unlink()
            for folder in created:
                folder.rmdir()


def read_json(path: str | Path, missing: str = "file not found") -> Any:
    """Parse a JSON file; a missing, non-UTF-8 or malformed file is one ``DataError`` naming it."""
    from musebench.errors import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(missing, file=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})", file=path) from err
    except UnicodeDecodeError as err:
        raise DataError("not UTF-8 text", file=path) from err


def stable_hash(obj: Any, length: int = 16) -> str:
    """A short SHA-256 of a JSON-serialisable object, stable across runs and machines."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:length]


def file_hash(path: str | Path, length: int = 16) -> str:
    """SHA-256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]
