"""MkDocs hook: the pages under ``benchmarks/`` join the site as ``benchmarks/...`` without being moved.

They stay beside the scripts that measure them (each table's command regenerates its file), so the site copies
them at build time: ``benchmarks/README.md`` becomes ``benchmarks/index.md``, every other ``*.md`` and ``*.png``
keeps its name. A link between them stays relative and is checked by ``mkdocs build --strict`` like any other.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def on_files(files, config):
    for path in sorted(BENCHMARKS.iterdir()):
        if path.suffix == ".md":
            uri = "benchmarks/index.md" if path.name == "README.md" else f"benchmarks/{path.name}"
            files.append(File.generated(config, uri, content=path.read_text(encoding="utf-8")))
        elif path.suffix == ".png":
            files.append(File.generated(config, f"benchmarks/{path.name}", abs_src_path=str(path)))
    return files
