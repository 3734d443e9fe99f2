"""Run the built-in MUSE experiment on the embedded mini benchmark: generate the corpus, build target and
retrain, run the MUSE baselines (GA, GA_GDR, GA_KLR, NPO, NPO_GDR, NPO_KLR, Task Vector, WHP), SimNPO, RMU
and the later methods (IdkNLL, IdkDPO, NPO-SAM, UNDIAL, WGA, SatImp, ULD) with the paper's checkpoint selection,
then C5 scalability, C6 sustainability, C7 robustness and the report (`musebench ls methods` lists them all).

Built target/retrain models are kept in the shared cache ($MUSEBENCH_CACHE, default ~/.cache/musebench),
so later demos (and `--out` elsewhere) reuse them; every other stage is cached in the output directory."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from musebench.commands.common import add_threads, set_threads

EXAMPLES = """examples:
  musebench demo --quick                 # a first look: five methods, C5/C6/C7 on NPO_GDR (docs/demo.md: its time)
  musebench demo --quick --all-methods   # every method on the same tiny corpus
  musebench demo                         # the full news-mini experiment
  musebench demo --all --out runs/demo   # books-mini as well
  musebench demo --base models/smollm2-135m   # real-small: the pipeline on fine-tunes of a pretrained model
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--quick",
        action="store_true",
        help="a first look: the tiny corpus, five representative methods, C5/C6/C7 on one of them",
    )
    p.add_argument(
        "--all-methods",
        action="store_true",
        help="with --quick: every method on the tiny corpus (the full demo always runs every method)",
    )
    p.add_argument("--all", action="store_true", help="books-mini as well as news-mini")
    p.add_argument(
        "--base",
        default=None,
        metavar="DIR_OR_HUB_NAME",
        help="the real-small experiment instead: target and retrain fine-tuned from this pretrained "
        "causal LM on the tiny news world, three methods, C5/C6/C7 on NPO_GDR (SmolLM2-135M: "
        "about 73 minutes on 2 CPU cores)",
    )
    p.add_argument("--out", default="musebench_out", help="output directory (default musebench_out/)")
    p.add_argument("--force", action="store_true", help="redo every stage (built models stay cached)")
    add_threads(p)


def run(args: argparse.Namespace) -> int:
    from musebench.commands.run import execute
    from musebench.experiment.demo import builtin_config, demo_names, real_small_config
    from musebench.experiment.tables import console

    set_threads(args.threads)
    if args.base:
        configs = [real_small_config(args.base)]
    else:  # validate all first
        configs = [builtin_config(name) for name in demo_names(args.quick, args.all, args.all_methods)]
    start = time.perf_counter()
    for cfg in configs:
        execute(cfg, Path(args.out) / cfg.name, force=args.force)
    console().print(
        f"demo finished in {time.perf_counter() - start:.0f}s; compare two runs with: musebench compare RUN_A RUN_B"
    )
    return 0
