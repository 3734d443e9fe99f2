"""Rebuild a shipped mini base from nothing and compare it, file by file, with the copy the package carries.

    python benchmarks/shipped_base.py --threads 2            # rebuild tiny news-mini seed 0, compare
    python benchmarks/shipped_base.py --threads 2 --write    # ... and make the rebuilt base the shipped one

Generates the corpus, pretrains its base with ``--force`` (the shipped copy is never read), then prints one row
per file: the SHA-256 of the shipped copy and of the rebuild. The weights match byte for byte when the rebuild
runs on a machine like the one that built the shipped copy (same torch, same kernels); on another CPU they may
differ in the last bits, which is why the package ships one copy for everyone. ``build.json`` records the
training time, so only its key and losses are compared. ``--write`` is how a maintainer refreshes the shipped
base after changing the generator, the tokenizer or the recipe (``tests/models/test_shipped.py`` fails until then).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="news-mini")
    p.add_argument("--size", default="tiny")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--write", action="store_true", help="replace the shipped copy with the rebuild")
    args = p.parse_args()

    import torch

    from musebench.models.base import base_key, build_base
    from musebench.models.mini_corpus import write_mini_corpus
    from musebench.models.recipe import recipe_for
    from musebench.models.shipped import SHIPPED_DIR, file_sha256, find_shipped_base, write_manifest

    torch.set_num_threads(args.threads)
    recipe = recipe_for(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_mini_corpus(args.corpus, args.size, args.seed, Path(tmp) / "data")
        key = base_key(data, recipe, args.seed)[0]
        shipped = find_shipped_base(key)
        started = time.perf_counter()
        rebuilt = build_base(data, Path(tmp) / "models", recipe, args.seed, force=True)
        seconds = time.perf_counter() - started
        print(
            f"{args.corpus} {args.size} seed {args.seed}: key {key}, rebuilt in {seconds:.1f} s on {args.threads} threads"
        )
        print(f"shipped copy: {shipped.name if shipped else 'none with this key'}\n")
        print("| file | shipped SHA-256 | rebuilt SHA-256 | same |\n|---|---|---|---|")
        names = sorted(f.name for f in rebuilt.iterdir() if f.is_file() and not f.name.startswith("."))
        for name in names:
            if name == "build.json":
                continue
            new = file_sha256(rebuilt / name)
            old = file_sha256(shipped / name) if shipped and (shipped / name).is_file() else None
            print(f"| {name} | {(old or '-')[:16]} | {new[:16]} | {'yes' if old == new else 'no'} |")
        record = json.loads((rebuilt / "build.json").read_text(encoding="utf-8"))
        if shipped:
            old_record = json.loads((shipped / "build.json").read_text(encoding="utf-8"))
            same = old_record.get("losses") == record.get("losses")
            print(f"| build.json losses ({len(record['losses'])} logged) | | | {'yes' if same else 'no'} |")
        if args.write:
            target = SHIPPED_DIR / f"{args.corpus}-{args.size}-seed{args.seed}"
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            for name in names:
                shutil.copyfile(rebuilt / name, target / name)
            built_with = {
                "command": f"python benchmarks/shipped_base.py --corpus {args.corpus} --size {args.size} "
                f"--seed {args.seed} --threads {args.threads} --write",
                "versions": record.get("versions"),
                "threads": record.get("threads"),
                "train_seconds": record.get("train_seconds"),
            }
            write_manifest(target, key, built_with)
            print(f"\nwrote {target}")


if __name__ == "__main__":
    main()
