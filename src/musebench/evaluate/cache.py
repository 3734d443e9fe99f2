"""Resumable result cache: one directory per (model, corpus, scorer settings), one file per finished batch.

Each completed batch of a request group (e.g. ``generate-verbmem_f``) is written atomically as its own
file, so an interrupted evaluation loses at most the batch in flight and a re-run computes only what is
missing. Generations (a few token ids each) are JSON; per-token values (log-probs, Min-K%++ moments: 2,048
floats per privacy text) are binary ``.npz`` files of float32 arrays, concatenated per field with offsets,
about 4 bytes a value instead of ~20 as JSON text, and read back without parsing. ``ENGINE_VERSION`` is
part of the key: a change to how outputs are computed invalidates old entries instead of reusing them.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np

from musebench.io import atomic_file, atomic_write_json, stable_hash

ENGINE_VERSION = 1


class ResultCache:
    def __init__(self, root: str | Path | None, key_parts: dict):
        self.key_parts = {"engine_version": ENGINE_VERSION, **key_parts}
        self.key = stable_hash(self.key_parts)
        self.dir = Path(root) / self.key if root is not None else None

    @property
    def enabled(self) -> bool:
        return self.dir is not None

    def clear(self) -> None:
        """Forget everything cached under this key (``--force``)."""
        if self.dir is not None and self.dir.exists():
            shutil.rmtree(self.dir)

    def load(self, group: str) -> dict[str, dict]:
        """Every cached output of ``group``: request key -> payload (JSON values, or float32 arrays)."""
        if self.dir is None or not (self.dir / group).is_dir():
            return {}
        merged: dict[str, dict] = {}
        for path in sorted((self.dir / group).glob("*.json")):
            try:
                batch = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # a file we cannot read is recomputed, never trusted
            if isinstance(batch, dict):  # a file of another shape is recomputed too
                merged.update({k: v for k, v in batch.items() if isinstance(v, dict)})
        for path in sorted((self.dir / group).glob("*.npz")):
            try:
                merged.update(read_arrays(path))
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                continue
        return merged

    def store(self, group: str, items: dict[str, dict]) -> None:
        """Cache one batch of JSON payloads."""
        if self._start(items):
            atomic_write_json(self.dir / group / f"{stable_hash(sorted(items))}.json", items, indent=None)

    def store_arrays(self, group: str, items: dict[str, dict[str, np.ndarray]]) -> None:
        """Cache one batch of per-token arrays: request key -> {field: 1-D array}."""
        if self._start(items):
            write_arrays(self.dir / group / f"{stable_hash(sorted(items))}.npz", items)

    def _start(self, items) -> bool:
        if self.dir is None or not items:
            return False
        if not (self.dir / "key.json").exists():
            atomic_write_json(self.dir / "key.json", self.key_parts)
        return True


def write_arrays(path: Path, items: dict[str, dict[str, np.ndarray]]) -> None:
    """One ``.npz``: ``keys``, and per field the rows concatenated plus ``<field>.offsets`` (absent rows
    have an empty span and are listed in ``<field>.present``). Written atomically."""
    keys = list(items)
    arrays: dict[str, np.ndarray] = {"keys": np.array(keys, dtype=str)}
    fields = sorted({f for row in items.values() for f in row})
    for f in fields:
        rows = [np.asarray(items[k].get(f, ()), dtype=np.float32).reshape(-1) for k in keys]
        arrays[f] = np.concatenate(rows) if rows else np.zeros(0, np.float32)
        arrays[f"{f}.offsets"] = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
        arrays[f"{f}.present"] = np.array([f in items[k] for k in keys], dtype=bool)
    with atomic_file(path, "wb") as fh:
        np.savez(fh, **arrays)


def read_arrays(path: Path) -> dict[str, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        keys = [str(k) for k in data["keys"]]
        fields = [n for n in data.files if n != "keys" and "." not in n]
        out: dict[str, dict[str, np.ndarray]] = {k: {} for k in keys}
        for f in fields:
            values, offsets, present = data[f], data[f"{f}.offsets"], data[f"{f}.present"]
            if len(offsets) != len(keys) + 1 or offsets[-1] != len(values):
                raise ValueError(f"inconsistent cache file {path}")
            for i, k in enumerate(keys):
                if present[i]:
                    out[k][f] = values[offsets[i] : offsets[i + 1]].copy()
    return out
