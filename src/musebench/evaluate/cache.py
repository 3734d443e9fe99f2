"""Resumable result cache: one directory per (model, corpus, scorer settings), one file per finished batch.

Each completed batch of a request group (e.g. ``generate-verbmem_f``) is written atomically as its own
JSON file, so an interrupted evaluation loses at most the batch in flight and a re-run computes only what
is missing. ``ENGINE_VERSION`` is part of the key: a change to how outputs are computed invalidates old
entries instead of silently reusing them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from musebench.io import atomic_write_json, stable_hash

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
        """Every cached output of ``group``: request key -> JSON payload."""
        if self.dir is None or not (self.dir / group).is_dir():
            return {}
        merged: dict[str, dict] = {}
        for path in sorted((self.dir / group).glob("*.json")):
            try:
                merged.update(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError):
                continue  # a file we cannot read is recomputed, never trusted
        return merged

    def store(self, group: str, items: dict[str, dict]) -> None:
        if self.dir is None or not items:
            return
        if not (self.dir / "key.json").exists():
            atomic_write_json(self.dir / "key.json", self.key_parts)
        atomic_write_json(self.dir / group / f"{stable_hash(sorted(items))}.json", items, indent=None)
