"""Atomic file writes and small JSON helpers (writing atomically, reading with one clear error).

Every result and checkpoint is written to a temporary file in the target directory and then moved into
place with ``os.replace``, so a crash never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any


def user_mode(directory: bool = False) -> int:
    """The mode ``open`` / ``mkdir`` would give under the user's umask (temporary files are created private:
    0600 / 0700; results must not stay owner-only when the user's umask says otherwise)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "w", encoding: str | None = None) -> Iterator[IO]:
    """Yield an open temporary sibling of ``path``; once the block ends without error it is synced and moved
    onto ``path`` in one rename (under the user's umask), and on any error it is removed. ``mode`` is ``"w"``
    or ``"wb"``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:  # closes the descriptor whatever happens next
            os.fchmod(fh.fileno(), user_mode())
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_file(path, "w", encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


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
            clash = sorted(n for n in keep if n not in OWN_ENTRIES and (path / n).exists() and (tmp / n).exists())
            if clash:  # a user's file under a name we write: never overwritten
                raise ConfigError(
                    f"holds {', '.join(clash[:3])}, which musebench did not write and would "
                    "overwrite; move it away or choose another --out",
                    file=path,
                )
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


#: Written into every output directory musebench claims: which command kind wrote it, in which format, and
#: which of its entries that command wrote (everything else in it is someone else's and is never replaced).
OWNER_MARK = ".musebench"
#: The ``filelock`` lock file of an output directory (flock: the kernel drops it when its holder dies).
LOCK_NAME = ".musebench.lock"
RUN_LOCK_NAME = ".musebench-run.lock"  # ``musebench run``'s lock (experiment/lock.py)
OWN_ENTRIES = (OWNER_MARK, LOCK_NAME, RUN_LOCK_NAME)
#: Format of the mark: 1 (no ``kind``, no ``files``: written before ownership by kind) or 2.
MARK_FORMAT = 2

#: Each kind of output directory: the command that writes it and the records that prove an unmarked (or
#: format-1 marked) directory is of that kind. Order matters for inference: a report holds a results.json too.
KINDS: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    "report": ("musebench report", (("index.html", "results.md", "results.json"),)),
    "experiment": ("musebench run", (("stages",), ("results.json",))),
    "corpus": ("musebench data generate", (("synthetic.json",),)),
    "model": ("musebench build", (("build.json",),)),
    "unlearning run": ("musebench unlearn", (("run.json",), ("whp.json",))),
    "evaluation": ("musebench eval", (("summary.json",),)),
    "audit": ("musebench audit", (("audit.json",),)),
    "attack": ("musebench attack", (("robustness.json",),)),
    "leaderboard": ("musebench leaderboard", (("leaderboard.md", "index.html"),)),
}
#: The entries a kind writes, where they are a fixed few: in a directory marked before the mark listed what
#: it wrote, anything else (a note the user added) is the user's. Other kinds: everything in it is ours.
LEGACY_ENTRIES: dict[str, tuple[str, ...]] = {
    "report": ("index.html", "results.md", "results.csv", "results.json", "plots"),
    "audit": ("audit.json", "audit.md", "audit.html", "probes.jsonl", "outputs.jsonl"),
    "attack": ("robustness.json",),
}


@dataclasses.dataclass(frozen=True)
class Mark:
    """What the ``.musebench`` mark of a directory says (``kind`` inferred from its records for format 1)."""

    kind: str | None
    format: int
    files: tuple[str, ...] | None  # entries the owning command wrote; None: not recorded (format 1)
    not_ours: tuple[str, ...]  # entries that were there when it was claimed with --force
    pid: int | None = None
    open: bool = False  # a command was writing and has not finished (killed): ``files`` may lack some of its


#: Records a user might also name so: an unmarked one proves its kind only when its JSON reads as ours.
_SIGNED: dict[tuple[str, str], Any] = {
    ("attack", "robustness.json"): lambda d: d.get("attack") in ("quantize", "relearn", "paraphrase"),
    ("audit", "audit.json"): lambda d: d.get("kind") == "musebench-audit",
    ("experiment", "results.json"): lambda d: "schema_version" in d and "methods" in d,
}


def infer_kind(path: Path) -> str | None:
    """The kind of a directory from the records in it (directories written before the mark had a kind)."""
    for kind, (_, proofs) in KINDS.items():
        if any(all(_is_record(kind, Path(path) / name) for name in proof) for proof in proofs):
            return kind
    return None


def _is_record(kind: str, path: Path) -> bool:
    signed = _SIGNED.get((kind, path.name))
    if signed is None:
        return path.exists()
    with contextlib.suppress(OSError, ValueError, RecursionError):
        if path.is_file() and path.stat().st_size < 200_000_000:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return isinstance(doc, dict) and bool(signed(doc))
    return False


def read_mark(path: str | Path) -> Mark | None:
    """The mark of directory ``path``; None when it has none. A format-1 mark gets its kind from the records."""
    path = Path(path)
    raw = None
    with contextlib.suppress(OSError, ValueError, RecursionError):
        raw = json.loads((path / OWNER_MARK).read_text(encoding="utf-8"))
    if raw is None:
        if not (path / OWNER_MARK).exists():
            return None
        raw = {}  # unreadable or damaged: a mark all the same (musebench wrote it), its kind from the records
    if not isinstance(raw, dict):
        raw = {}

    def names(key: str) -> tuple[str, ...] | None:
        value = raw.get(key)
        return tuple(n for n in value if isinstance(n, str)) if isinstance(value, list) else None

    kind = raw.get("kind") if raw.get("kind") in KINDS else infer_kind(path)
    fmt = raw.get("format") if isinstance(raw.get("format"), int) else 1
    pid = raw.get("pid") if isinstance(raw.get("pid"), int) else None
    return Mark(kind, fmt, names("files"), names("not_ours") or (), pid, raw.get("open") is True)


def write_mark(
    path: Path, kind: str | None, not_ours: Iterable[str] = (), files: Iterable[str] | None = None, open: bool = False
) -> None:
    """Mark ``path`` as written by the command of ``kind``; ``files``: the entries it wrote (default: all but
    ``not_ours`` and musebench's own entries); ``open``: the command is still writing (until it ends)."""
    path = Path(path)
    not_ours = sorted(set(not_ours))
    if files is None:
        files = [
            p.name
            for p in path.iterdir()
            if p.name not in OWN_ENTRIES and p.name not in not_ours and not _is_temporary(p.name)
        ]
    doc = {
        "written_by": "musebench",
        "kind": kind,
        "format": MARK_FORMAT,
        "pid": os.getpid(),
        "files": sorted(set(files)),
        "not_ours": not_ours,
        "open": open,
    }
    atomic_write_json(path / OWNER_MARK, doc)


def foreign_entries(path: Path, owned_if: Iterable[str] = ()) -> list[str]:
    """Names in directory ``path`` that musebench did not write.

    A marked directory: the names its mark does not list as written; one whose writer was killed (the mark
    still open) or marked before the mark listed files (format 1): the foreign names it held when it was
    claimed with ``--force`` (for report, audit and attack, whose few names are known: anything else); an
    unmarked one holding a record of ours (``owned_if``, or any kind's records): none; any other: everything.
    """
    path = Path(path)
    mark = read_mark(path)
    present = [p.name for p in path.iterdir() if p.name not in OWN_ENTRIES and not _is_temporary(p.name)]
    if mark is not None and mark.files is not None:
        if mark.open:  # its writer is at work or was killed: what it found foreign when it claimed the directory
            return sorted(n for n in mark.not_ours if n in present)
        return sorted(n for n in present if n not in mark.files)
    kind = mark.kind if mark is not None else infer_kind(path)
    if kind in LEGACY_ENTRIES:  # written before the mark listed files: the kind's own few names are ours
        return sorted(n for n in present if n not in LEGACY_ENTRIES[kind])
    if mark is not None:
        return sorted(n for n in mark.not_ours if (path / n).exists())
    if any((path / name).exists() for name in owned_if) or kind is not None:
        return []
    return sorted(present)


def _is_temporary(name: str) -> bool:
    """Our own temporary siblings (``.name.XXXX.tmp``, ``.name.old``) left by a killed writer."""
    return name.startswith(".") and name.endswith((".tmp", ".old"))


def is_ours(path: Path, owned_if: Iterable[str] = ()) -> bool:
    """True for an empty directory or one musebench marked or recorded a result in."""
    path = Path(path)
    return read_mark(path) is not None or any((path / n).exists() for n in owned_if) or not foreign_entries(path)


def _shown(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def check_output_dir(
    path: str | Path,
    *,
    kind: str | None = None,
    flag: str = "--out",
    owned_if: Iterable[str] = (),
    force: bool = False,
    writes: Iterable[str] = (),
    results: Iterable[str] = (),
) -> Path:
    """Refuse, before any work, an output path this command may not write to; returns it.

    Refused with one line naming the path, what was found and the way out: a file; an empty path or ``.``
    (``--out`` must name a directory of its own); an unwritable place; a musebench directory of another
    ``kind``; a directory holding files musebench did not write (unless ``force``, which writes beside them);
    one of those files under a name this command writes (``writes``: never overwritten, not even with
    ``force``); and, without ``force``, a directory of this kind that already holds ``results`` (records
    this command would replace).
    """
    from musebench.errors import ConfigError

    if str(path).strip() == "":
        raise ConfigError("is empty; name the directory to write to", field=flag)
    path = Path(path)
    if path.resolve() == Path.cwd().resolve() or path.resolve() == Path(path.anchor or "/").resolve():
        raise ConfigError(
            f"is the current (or root) directory; name a directory of its own, e.g. {flag} results",
            file=path,
            field=flag,
        )
    if path.exists() and not path.is_dir():
        raise ConfigError("exists and is not a directory", file=path, field=flag)
    if path.is_dir():
        mark = read_mark(path)
        found = mark.kind if mark is not None else infer_kind(path)
        if kind is not None and found is not None and found != kind:
            raise ConfigError(
                f"holds a musebench {found} (written by `{KINDS[found][0]}`), not {_a(kind)}; "
                f"it is never replaced by another command: choose another {flag}",
                file=path,
                field=flag,
            )
        foreign = foreign_entries(path, owned_if)
        accepted = mark.not_ours if mark is not None else ()  # kept beside our files by an earlier --force
        unaccepted = [n for n in foreign if n not in accepted]
        if unaccepted and not force:
            raise ConfigError(
                f"directory holds files musebench did not write ({_shown(unaccepted)}); choose "
                f"another {flag} or pass --force to write into it anyway (its files are kept)",
                file=path,
                field=flag,
            )
        clash = sorted(set(foreign) & set(writes))
        if clash:
            raise ConfigError(
                f"holds {_shown(clash)}, which musebench did not write and would overwrite; "
                f"move it away or choose another {flag}",
                file=path,
                field=flag,
            )
        held = [n for n in results if (path / n).exists()] if found == kind else []
        if held and not force:
            raise ConfigError(
                f"holds the results of an earlier {KINDS[kind][0].split()[-1]} ({_shown(held)}); "
                f"pass --force to replace them or choose another {flag}",
                file=path,
                field=flag,
            )
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


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def kept_entries(path: str | Path) -> tuple[str, ...]:
    """What ``atomic_directory(path, keep=...)`` must carry over: musebench's own entries and a user's files."""
    path = Path(path)
    return OWN_ENTRIES + (tuple(foreign_entries(path)) if path.is_dir() else ())


@contextlib.contextmanager
def output_dir(
    path: str | Path,
    *,
    kind: str | None = None,
    flag: str = "--out",
    owned_if: Iterable[str] = (),
    force: bool = False,
    writes: Iterable[str] = (),
    results: Iterable[str] = (),
    lock_name: str = LOCK_NAME,
) -> Iterator[Path]:
    """Claim an output directory for the block: checked (``check_output_dir``), created, locked and marked.

    A second writer on the same directory fails at once naming the holder; a lock left by a process killed
    with -9 is free again (the kernel releases flock locks with the process) and is taken over. The mark
    records ``kind`` and, when the block ends, the entries this command wrote. When the block fails before
    writing anything, what this call created (the directory, its mark, its lock) goes.
    """
    from musebench.errors import ConfigError

    path = check_output_dir(path, kind=kind, flag=flag, owned_if=owned_if, force=force, writes=writes, results=results)
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
    ok = claimed = False
    not_ours: list[str] = []
    try:
        # checked again under the lock: a writer that finished meanwhile may have changed the directory
        check_output_dir(path, kind=kind, flag=flag, owned_if=owned_if, force=force, writes=writes)
        not_ours = foreign_entries(path, owned_if)
        write_mark(path, kind, not_ours, open=True)
        claimed = True
        yield path
        ok = True
    finally:
        if claimed:  # what it wrote is its own, finished or not (a full disk: the mark stays as it was)
            with contextlib.suppress(OSError):
                write_mark(path, kind, not_ours, open=False)
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
        raise ConfigError(
            f"another musebench process{_holder(Path(path))} is writing to this directory; wait "
            f"for it or choose another {flag}",
            file=path,
            field=flag,
        ) from None
    except OSError as err:
        raise ConfigError(f"cannot lock it: {err.strerror}", file=path, field=flag) from err
    return lock


def _holder(path: Path) -> str:
    mark = read_mark(path)
    return f" (pid {mark.pid})" if mark is not None and mark.pid is not None else ""


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
    except RecursionError:
        raise DataError("JSON nested too deeply to read", file=path) from None
    except OSError as err:
        raise DataError(f"cannot read it: {err.strerror or err}", file=path) from None


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


# ---------------------------------------------------------------- YAML with a size and alias budget

#: Largest YAML file read (an experiment or option file is a few kB).
YAML_MAX_BYTES = 1 << 20
#: Most values a YAML document may hold once its aliases are expanded (a 600-byte "billion laughs" file
#: expands to 10^9: refused before anything walks, copies or prints it).
YAML_MAX_VALUES = 100_000


def read_yaml(path: str | Path, what: str = "file") -> Any:
    """Parse a YAML file with a size and alias budget; every problem is one ``ConfigError`` naming it."""
    from musebench.errors import ConfigError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} not found", file=path)
    try:
        size = path.stat().st_size
        if size > YAML_MAX_BYTES:
            raise ConfigError(f"is {size:,} bytes; a {what} is read up to {YAML_MAX_BYTES:,}", file=path)
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"not UTF-8 text (byte {err.start})", file=path) from err
    except OSError as err:
        raise ConfigError(f"cannot read it: {err.strerror or err}", file=path) from err
    return parse_yaml(text, file=path)


def parse_yaml(text: str, file: str | Path | None = None, max_values: int = YAML_MAX_VALUES) -> Any:
    """``yaml.safe_load`` that refuses, before building anything, a document whose aliases expand past
    ``max_values`` values, a recursive alias, and a mapping that names a key twice (YAML keeps the last one
    silently: a duplicated method would vanish)."""
    import yaml

    from musebench.errors import ConfigError

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise ConfigError(f"not valid YAML: {str(err).splitlines()[0]}", file=file) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deeply", file=file) from None
    if node is None:
        return None
    _check_yaml_node(node, max_values, file)
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        raise ConfigError(f"not valid YAML: {str(err).splitlines()[0]}", file=file) from None
    finally:
        loader.dispose()


def _check_yaml_node(root, max_values: int, file) -> None:
    import yaml

    from musebench.errors import ConfigError

    sizes: dict[int, int] = {}  # expanded size of each node, computed once per node (aliases share nodes)
    active: set[int] = set()

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError(f"YAML alias refers to itself (line {node.start_mark.line + 1})", file=file)
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: set = set()
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        raise ConfigError(
                            f"key '{k.value[:60]}' is given twice in one mapping (line "
                            f"{k.start_mark.line + 1}); YAML would keep only the last",
                            file=file,
                        )
                    seen.add(k.value)
                total += size(k) + size(v)
                if total > max_values:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item)
                if total > max_values:
                    break
        active.discard(key)
        if total > max_values:
            raise ConfigError(
                f"YAML document expands to more than {max_values:,} values (aliases such as "
                "*name repeat what they point to); refused",
                file=file,
            )
        sizes[key] = total
        return total

    try:
        size(root)
    except RecursionError:
        raise ConfigError("YAML nested too deeply", file=file) from None


# ---------------------------------------------------------------- the machine cannot store or read a file

#: OS errors that mean "this machine cannot store the result" (disk full, quota, read-only, file too big).
WRITE_FAILURES = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)
#: How the libraries that write weights say the same thing without an ``OSError``: the Rust ones
#: (safetensors, tokenizers: "No space left on device (os error 28)") in any exception's text, and torch's zip
#: writer in a ``RuntimeError`` ("unexpected pos", "file write failed", "iostream error": it keeps no errno).
_LIBRARY_WRITE_FAILURES = (
    "(os error 28)",
    "(os error 122)",
    "(os error 30)",
    "(os error 27)",
    "No space left on device",
    "Disk quota exceeded",
    "Read-only file system",
)
_TORCH_WRITE_FAILURES = ("unexpected pos", "file write failed", "iostream error", "PytorchStreamWriter failed")


def storage_failure(err: BaseException) -> tuple[str, str | None] | None:
    """``(what, file)`` when ``err`` (or an error it was raised from) is a failed write or a denied read:
    a full disk from any writer, a read-only or quota-limited one, a permission refused. None otherwise."""
    seen = 0
    while err is not None and seen < 8:
        if isinstance(err, OSError) and err.errno in WRITE_FAILURES:
            return f"cannot write: {err.strerror or err}", err.filename
        if isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM):
            return f"permission denied ({err.strerror or err})", err.filename
        text = str(err)[:2000]
        if not isinstance(err, OSError) and (
            any(s in text for s in _LIBRARY_WRITE_FAILURES)
            or (isinstance(err, RuntimeError) and any(s in text for s in _TORCH_WRITE_FAILURES))
        ):
            found = next((s for s in _LIBRARY_WRITE_FAILURES if s in text), None)
            detail = (
                text.split("I/O error: ")[-1]
                if "I/O error: " in text
                else (found.strip("()") if found else "torch could not write its file: is the disk full?")
            )
            return f"cannot write: {type(err).__name__} ({detail[:80]})", None
        err = err.__cause__ or err.__context__
        seen += 1
    return None


def lock_is_held(lock_file: str | Path) -> bool:
    """Whether a live process holds the ``filelock`` lock ``lock_file`` (probed without waiting; a missing
    lock file is not created: nobody holds it)."""
    from filelock import FileLock, Timeout

    if not Path(lock_file).is_file():
        return False
    lock = FileLock(str(lock_file), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    except OSError:  # cannot open it (a read-only copy of a run): cannot tell, say no
        return False
    lock.release()
    return False
