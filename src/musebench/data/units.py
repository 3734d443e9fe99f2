"""``tags/units.json``: the unit of independence (person, source) of every evaluated record of a corpus.

Questions and texts about one person share names, facts and phrasing; a bootstrap that redraws them one by one
as if they were independent gives intervals that are too narrow. A corpus that knows who each record is about
says so here, by position in each part's file:

```
{"unit": "person", "verbmem_forget": ["Ann Lee", ...], "knowmem_forget_qa": [...], "privleak_holdout": [...]}
```

Every listed part must label all its records; unlisted parts are resampled record by record.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from musebench.data.corpus import UNIT_PARTS, Corpus, record_key
from musebench.data.files import DataWarning
from musebench.errors import DataError
from musebench.io import atomic_write_json

UNITS_FILE = "tags/units.json"


def units_payload(corpus: Corpus) -> dict | None:
    """The file's content for ``corpus`` (None when it records no units)."""
    parts = {p: corpus.unit_labels(p) for p in UNIT_PARTS}
    parts = {p: labels for p, labels in parts.items() if labels is not None}
    return {"unit": corpus.unit_name, **parts} if parts else None


def write_units(corpus: Corpus, out_dir: str | Path) -> Path | None:
    payload = units_payload(corpus)
    return atomic_write_json(Path(out_dir) / UNITS_FILE, payload) if payload else None


def read_units(root: str | Path, corpus: Corpus) -> None:
    """Fill ``corpus.units`` from ``root/tags/units.json`` when there is one; a malformed file is a
    ``DataError`` naming the part. Labels that no longer match their part's records (the records were edited)
    are dropped with a warning: that part's records are then their own units, and the records' own problems
    are what the loader reports."""
    path = Path(root) / UNITS_FILE
    if not path.is_file():
        return
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"cannot read the unit labels: {err}", file=path) from err
    if not isinstance(raw, dict):
        raise DataError("expected a JSON object", file=path, value=type(raw).__name__)
    unknown = sorted(set(raw) - {"unit", *UNIT_PARTS})
    if unknown:
        raise DataError(f"unknown part; expected unit, {', '.join(UNIT_PARTS)}", file=path, field=unknown[0])
    units = {}
    for part in UNIT_PARTS:
        if part not in raw:
            continue
        labels, records = raw[part], getattr(corpus, part)
        if not isinstance(labels, list) or not all(isinstance(v, str) and v for v in labels):
            raise DataError("expected a list of non-empty strings", file=path, field=part)
        if len(labels) != len(records):  # the records were edited after the labels were written
            warnings.warn(
                f"{path}: {part}: {len(labels)} labels for {len(records)} records; its confidence "
                "intervals resample records, not people",
                DataWarning,
                stacklevel=2,
            )
            continue
        units[part] = {record_key(r): lab for r, lab in zip(records, labels)}
    corpus.units = units
    corpus.unit_name = str(raw.get("unit", "person"))
