"""Which weight files a loaded model holds, named cheaply: streamed file hashes and a load-time mark.

Hashing a 7B model's 13.5 GB of tensors at every evaluation costs more than many evaluations; the files it
was loaded from say the same thing. ``mark_weights_source`` records, at load time, the files' hash (or a hub
model's repository and resolved revision) together with the identity, storage and in-place version of every
parameter; ``weights_source`` returns it only while none of them changed (training, a resize, a weight
written in place all break the mark), so a model that no longer equals its files is never named by them.
File hashes are remembered by (path, size, mtime_ns), in this process and under
``$MUSEBENCH_CACHE/fingerprints``, so an unchanged checkpoint is read once, ever.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from musebench.io import atomic_write_text

#: Weight and config files whose bytes decide a model's outputs (tokenizer files have their own fingerprint).
WEIGHT_PATTERNS = ("*.safetensors", "*.safetensors.index.json", "config.json", "generation_config.json")
CHUNK = 8 << 20  # bytes read per update of a streamed hash
_MARK = "_musebench_weights_source"
_memo: dict[tuple[str, int, int], str] = {}  # (resolved path, size, mtime_ns) -> sha256, this process


def memo_dir() -> Path:
    """Where file hashes are remembered across processes: ``$MUSEBENCH_CACHE/fingerprints``."""
    root = Path(os.environ.get("MUSEBENCH_CACHE", Path.home() / ".cache" / "musebench")).expanduser()
    return root / "fingerprints"


def streamed_file_hash(path: str | Path, remember: bool = True) -> str:
    """SHA-256 of a file read in chunks; remembered by (path, size, mtime_ns), so a file rewritten in place
    (new mtime or size) is hashed again and an unchanged one never is."""
    path = Path(path).resolve()
    stat = path.stat()
    memo_key = (str(path), stat.st_size, stat.st_mtime_ns)
    if memo_key in _memo:
        return _memo[memo_key]
    stored = memo_dir() / (hashlib.sha256(repr(memo_key).encode()).hexdigest()[:32] + ".txt")
    if remember and stored.is_file():
        digest = stored.read_text(encoding="utf-8").strip()
        if len(digest) == 64:
            _memo[memo_key] = digest
            return digest
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    digest = h.hexdigest()
    _memo[memo_key] = digest
    if remember:
        try:
            atomic_write_text(stored, digest + "\n")
        except OSError:  # a read-only cache only costs the next process a re-read
            pass
    return digest


def weight_files(model_dir: str | Path) -> list[Path]:
    model_dir = Path(model_dir)
    return sorted({p for pattern in WEIGHT_PATTERNS for p in model_dir.glob(pattern) if p.is_file()})


def files_signature(model_dir: str | Path) -> list[tuple[str, int, int]]:
    """(name, size, mtime_ns) of the weight files: what tells whether they changed since a load."""
    return [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in weight_files(model_dir)]


def weight_files_fingerprint(model_dir: str | Path, remember: bool = True) -> str:
    """One hash of a model directory's weight and config files (names and contents)."""
    files = weight_files(model_dir)
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.name}|{streamed_file_hash(p, remember)}\n".encode())
    return h.hexdigest()


def _param_state(model) -> list[tuple[str, int, int, int]]:
    """Identity, storage and in-place version of every parameter and buffer: any write changes it."""
    state = []
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        state.append((name, id(t), t.data_ptr(), t._version))
    return state


def mark_weights_source(model, source: str | Path, revision: str | None = None) -> None:
    """Record that ``model`` holds exactly the weights of ``source`` (a directory, or a hub name resolved
    at ``revision``), as of now. Call it once loading (and any device move) is finished. Nothing is hashed
    here (a training run that never evaluates never pays for it): the files' hash is taken when a
    fingerprint is first asked for, and only if the files still have the size and mtime they had now."""
    path = Path(source)
    if path.is_dir():
        origin = {"dir": str(path.resolve()), "signature": files_signature(path)}
    elif revision or (revision := hub_revision(str(source))):
        origin = {"hub": str(source), "revision": str(revision)}
    else:
        return  # a hub model without a resolved revision: hash its tensors instead
    object.__setattr__(model, _MARK, (origin, _param_state(model)))


def weights_source(model) -> dict | None:
    """What ``mark_weights_source`` recorded, if the model has not changed since; else None."""
    mark = getattr(model, _MARK, None)
    if mark is None:
        return None
    origin, state = mark
    if _param_state(model) != state:
        return None
    if "dir" in origin:
        if files_signature(origin["dir"]) != origin["signature"]:
            return None  # the files were rewritten after the load: they no longer say what the model holds
        return {"files": weight_files_fingerprint(origin["dir"])}
    return origin


def hub_revision(name: str, revision: str | None = None) -> str | None:
    """The commit a hub model name resolves to in the local hub cache (None when it is not there)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(str(name), "config.json", revision=revision)
    if not isinstance(found, str):
        return None
    parts = Path(found).parts
    return parts[-2] if len(parts) >= 3 and parts[-3] == "snapshots" else None
