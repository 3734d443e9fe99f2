"""Mini bases shipped inside the package, so a first run fine-tunes instead of pretraining.

MUSE starts from a pretrained model the user downloads; in the mini world the base plays that part, and
pretraining it was most of a first quick demo (70 of 158 s from nothing on two cores; 722 s of the full demo). The
package therefore carries the bases of the two demo worlds (news-mini ``tiny`` and ``default``, seed 0) exactly as
``build_base`` trained them, one directory per base under ``models/shipped/``, with a manifest naming its build key
and the SHA-256 of every file.

A base build whose key (background text, tokenizer, the recipe's pretraining fields, seed) equals a shipped
base's copies it instead of training; any other key pretrains as before, and ``--force`` always pretrains. A
copy whose bytes do not match its manifest is refused: a damaged install never becomes a base that scores.
``benchmarks/shipped_base.py`` rebuilds a shipped base from nothing and compares the bytes (``--write`` replaces it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from musebench.errors import DataError
from musebench.io import atomic_write_json, file_hash

SHIPPED_DIR = Path(__file__).parent / "shipped"
MANIFEST = "shipped.json"


def file_sha256(path: Path) -> str:
    """The whole SHA-256 of a file, as the manifest records it."""
    return file_hash(path, length=64)


def find_shipped_base(key: str, root: Path | None = None) -> Path | None:
    """The shipped base directory whose manifest records build key ``key`` (None: none ships)."""
    root = SHIPPED_DIR if root is None else Path(root)
    if not root.is_dir():
        return None
    for manifest in sorted(root.glob(f"*/{MANIFEST}")):
        try:
            if json.loads(manifest.read_text(encoding="utf-8")).get("key") == key:
                return manifest.parent
        except (OSError, json.JSONDecodeError) as err:
            raise DataError(f"unreadable shipped-base manifest ({err}); reinstall musebench", file=manifest) from err
    return None


def copy_shipped_base(source: Path, dest: Path) -> dict:
    """Copy the shipped base ``source`` into the (empty, temporary) model directory ``dest``, checking every
    file against the manifest; returns the manifest. ``build.json`` gains ``shipped`` (which copy it is)."""
    manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    files = manifest.get("sha256")
    if not isinstance(files, dict) or "model.safetensors" not in files or "build.json" not in files:
        raise DataError("shipped-base manifest lists no weights or build record; reinstall musebench", file=source)
    for name, expected in sorted(files.items()):
        path = source / name
        if not path.is_file() or file_sha256(path) != expected:
            raise DataError(
                "shipped base file is missing or damaged (its SHA-256 differs from the manifest); reinstall "
                "musebench, or pretrain the base with --force",
                file=path,
            )
        shutil.copyfile(path, dest / name)
    record_path = dest / "build.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["shipped"] = {"name": source.name, "built_with": manifest.get("built_with")}
    atomic_write_json(record_path, record)
    return manifest


def write_manifest(directory: Path, key: str, built_with: dict) -> Path:
    """Record ``directory``'s build key and the SHA-256 of each of its files (the maintainer's side)."""
    files = {
        p.name: file_sha256(p)
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")  # not the output mark / lock
    }
    return atomic_write_json(directory / MANIFEST, {"key": key, "built_with": built_with, "sha256": files})
