"""musebench build: the target and retrain models of a corpus, fine-tuned from one base model as in MUSE.

The base is a pretrained causal LM (``--base DIR_OR_HUB_NAME``) or, for a generated mini corpus, a tiny Llama
pretrained on the corpus's background text (built once into OUT/base). The target fine-tunes on the forget side
∪ retain1 ∪ retain2, the retrain on retain1 ∪ retain2 plus background filler for the same number of steps, with
the same recipe and seed. Models are written to OUT/target and OUT/retrain as standard Hugging Face
directories; a second build with the same inputs returns at once (the key is in OUT/ROLE/build.json), and a
killed build resumes from its last checkpoint.
"""

from __future__ import annotations

import argparse
import time
import warnings

from musebench.commands.common import add_device, add_seed, add_threads, resolve_device, set_threads
from musebench.errors import ConfigError
from musebench.models.recipe import PRETRAINED_RECIPE

EXAMPLES = """examples:
  musebench build target --data data/news-mini --out models/
  musebench build both --data data/news-mini --out models/ --threads 2
  musebench build retrain --data data/news-mini --out models/ --size tiny --epochs 20
  musebench build both --data data/news-mini --out models-smol/ --base models/smollm2-135m
"""


def recipe_flags():
    """``BuildRecipe``'s fields as flags over the chosen recipe (``bf16`` follows ``--dtype``)."""
    from musebench.commands.flags import SettingsFlags
    from musebench.models.recipe import BuildRecipe

    return SettingsFlags(BuildRecipe, skip=("bf16",), defaults="the --size or --base recipe's")


def parents() -> list[argparse.ArgumentParser]:
    return [recipe_flags().parser]


#: Sizes whose target / retrain pair does not pass the validity gates (measured; benchmarks/mini_validity.md).
UNGATED_SIZES = ("tiny", "small")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "role",
        choices=("target", "retrain", "both", "base"),
        help="which model to build ('base': the mini corpus's base alone; target and retrain build it "
        "when they need it)",
    )
    p.add_argument("--data", required=True, help="corpus directory (e.g. from 'musebench data generate')")
    p.add_argument("--out", required=True, help="directory that receives OUT/target and/or OUT/retrain")
    p.add_argument(
        "--size",
        choices=("tiny", "small", "default"),
        default=None,
        help="recipe size (default: the size the mini corpus was generated at, else 'default'); only "
        "'default' passes the validity gates (benchmarks/mini_validity.md): 'tiny' is for tests "
        "and smoke runs, 'small' fails the knowledge and utility gates",
    )
    p.add_argument(
        "--base",
        default=None,
        metavar="DIR_OR_HUB_NAME",
        help="fine-tune this pretrained causal LM (a directory or hub name) instead of the mini corpus's "
        f"own base; the recipe is then the pretrained one ({PRETRAINED_RECIPE.epochs} epochs, "
        f"lr {PRETRAINED_RECIPE.lr:g}) unless overridden",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="rebuild even when a cached model matches (a base: pretrain it, never the copy the package ships)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_seed(p)
    add_device(p)
    add_threads(p)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from musebench.data.synthetic import read_synthetic_meta
    from musebench.models.build import build_model
    from musebench.models.recipe import recipe_for

    set_threads(args.threads)
    device = resolve_device(args.device)
    if not Path(args.data).is_dir():
        raise ConfigError("corpus directory not found", field="--data", value=args.data)
    meta = read_synthetic_meta(args.data)
    size = args.size or (meta["size"] if meta else None)
    recipe = PRETRAINED_RECIPE if args.base else recipe_for(size)
    if size in UNGATED_SIZES and not args.base:
        warnings.warn(
            f"size '{size}' does not pass the mini benchmark's validity gates (see "
            "benchmarks/mini_validity.md); build the 'default' size for numbers you report",
            stacklevel=1,
        )
    overrides = recipe_flags().given(args)
    if args.dtype == "float16":
        raise ConfigError(
            "float16 training is not supported; use bfloat16 or float32", field="--dtype", value=args.dtype
        )
    if args.dtype != "auto":
        overrides["bf16"] = args.dtype == "bfloat16"
    recipe = recipe.with_overrides(overrides)
    if args.role == "base" and args.base:
        raise ConfigError(
            "a pretrained base is not built; build target, retrain or both from it", field="--base", value=args.base
        )
    roles = ("retrain", "target") if args.role == "both" else (args.role,)
    for role in roles:
        start = time.perf_counter()
        path = build_model(
            args.data,
            role,
            args.out,
            recipe=recipe,
            seed=args.seed,
            device=device,
            progress=not args.no_progress,
            force=args.force,
            base=args.base,
        )
        print(f"{role}: {path} ({time.perf_counter() - start:.1f} s)")
    if meta and "constant_answer" in meta:  # what KnowMem reads from the answer prior alone
        prior = meta["constant_answer"]
        print(
            f"constant-answer baseline (the most frequent value per fact type): KnowMem-f {prior['knowmem_f']:.1f}, "
            f"KnowMem-r {prior['knowmem_r']:.1f}"
        )
    return 0
