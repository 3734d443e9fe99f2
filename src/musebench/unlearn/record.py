"""``run.json``: the one record of an unlearning run, and the only code that writes or reads it.

A gradient run rewrites it atomically at its start, after every saved epoch and at its end (status
``running`` -> ``complete`` / ``failed``); a Task Vector / WHP run writes it once, complete, after its α
checkpoints. Every field is plain JSON, so the file is readable without musebench; ``schema_version``
guards the format (an older file gets the "made by an older musebench" message, not a traceback).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from musebench.errors import DataError, check_schema
from musebench.io import atomic_write_json
from musebench.unlearn.config import Checkpoint, UnlearnRun
from musebench.versions import package_versions

RUN_FILE = "run.json"
RUN_SCHEMA_VERSION = 1


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def corpus_entry(corpus) -> dict[str, Any]:
    """What the record keeps of the corpus: enough to tell whether a later request used the same data."""
    return {"name": corpus.name, "fingerprint": corpus.fingerprint(), "source": corpus.source}


@dataclass
class RunRecord:
    """The content of ``out_dir/run.json`` (``out_dir`` itself is where it lives, not part of the file)."""

    out_dir: Path
    method: str
    config: dict[str, Any]
    model: str | None = None
    reference: str | None = None  # the C6 reference model directory, when one replaced the start model
    finetuned: str | None = None  # Task Vector / WHP: θ_ft, relative to out_dir when local
    forget_split: str = "forget"
    corpus: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # window / step counts, device, processes, ...
    versions: dict[str, str | None] = field(default_factory=package_versions)  # the recorded packages
    created: str = field(default_factory=_now)
    status: str = "running"
    error: str | None = None
    checkpoints: list[dict[str, str]] = field(default_factory=list)  # [{"label": ..., "path": ...}] in order
    history: dict[str, Any] = field(default_factory=lambda: {"steps": [], "epochs": []})
    timing_s: dict[str, float] = field(default_factory=dict)
    schema_version: int = RUN_SCHEMA_VERSION

    @property
    def path(self) -> Path:
        return Path(self.out_dir) / RUN_FILE

    def add_checkpoint(self, label: str) -> None:
        """Record ``out_dir/label`` as the newest checkpoint (a label saved again moves to the end)."""
        self.checkpoints = [c for c in self.checkpoints if c["label"] != label]
        self.checkpoints.append({"label": label, "path": label})

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "out_dir"}
        # the version first, then the fields in the order a reader looks for them
        return {"schema_version": data.pop("schema_version"), **data}

    def write(self) -> Path:
        """Write ``run.json`` atomically (a reader sees the previous version or this one, never a part)."""
        return atomic_write_json(self.path, self.to_json())

    @classmethod
    def read(cls, out_dir: str | Path) -> RunRecord | None:
        """The record saved in ``out_dir``; None when there is none; ``DataError`` when it is not ours."""
        out_dir = Path(out_dir)
        path = out_dir / RUN_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise DataError(f"unreadable run record: {err}", file=path) from err
        check_schema(data, RUN_SCHEMA_VERSION, path, "run record")
        known = {f.name for f in dataclasses.fields(cls)} - {"out_dir"}
        # provenance the file lacks stays absent: reading must not stamp today's versions or time on it
        given = {"versions": {}, "created": "", **{k: v for k, v in data.items() if k in known}}
        try:
            record = cls(out_dir=out_dir, **given)
            if not isinstance(record.method, str) or not isinstance(record.config, dict):
                raise TypeError("'method' must be a string and 'config' an object")
            if not all(isinstance(c, dict) and {"label", "path"} <= c.keys() for c in record.checkpoints):
                raise TypeError("every checkpoint needs a 'label' and a 'path'")
        except TypeError as err:
            raise DataError(f"unreadable run record: {err}", file=path) from err
        return record

    def as_run(self) -> UnlearnRun:
        """What ``run_unlearning`` returns for this record."""
        out_dir = Path(self.out_dir)
        return UnlearnRun(
            method=self.method,
            out_dir=out_dir,
            checkpoints=[Checkpoint(c["label"], out_dir / c["path"]) for c in self.checkpoints],
            config=self.config,
            history=self.history,
            status=self.status,
        )


def read_run(out_dir: str | Path) -> UnlearnRun | None:
    """The run saved in ``out_dir`` (None when there is no ``run.json``)."""
    record = RunRecord.read(out_dir)
    return record.as_run() if record is not None else None
