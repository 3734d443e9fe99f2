"""Run a whole MUSE experiment from a YAML file: corpus, target/retrain, methods with checkpoint selection,
C5 scalability, C6 sustainability, report. Every stage is cached in the output directory: re-running
after a crash (or after editing the file) redoes only what is unfinished or changed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from musebench.commands.common import add_threads, set_threads

EXAMPLES = """examples:
  musebench run examples/news-mini.yaml                  # results in runs/<name>/
  musebench run examples/news-mini.yaml --out runs/mine --threads 2
  musebench run examples/news-mini.yaml --force          # redo every stage
  musebench run examples/news-mini.yaml --dry-run        # validate and print the stages; touch nothing
  musebench run examples/news-mini.yaml --executor ray --num-cpus 2   # stages side by side on a local Ray
  musebench run examples/muse-news-release.yaml --executor ray --address head-node:6379 --stage-gpus 1
"""


#: Files whose presence proves a directory is a musebench run directory.
RUN_RECORDS = ("results.json", "stages")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment YAML file (see examples/*.yaml)")
    p.add_argument("--out", default=None, help="run directory (default: runs/<experiment name>)")
    p.add_argument(
        "--force", action="store_true", help="redo every stage of this run (built target/retrain models stay cached)"
    )
    p.add_argument("--no-report", action="store_true", help="skip building report/ at the end")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the file and print the stages it would run; create, lock and load nothing",
    )
    p.add_argument(
        "--executor",
        choices=("serial", "ray"),
        default="serial",
        help="serial (default): stages one after another here; ray: independent stages as Ray tasks "
        "(pip install 'musebench[ray]')",
    )
    p.add_argument("--address", help="Ray cluster to join (default: start a local Ray instance)")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    p.add_argument("--stage-cpus", type=float, default=1.0, help="CPUs each Ray stage task asks for (default 1)")
    p.add_argument(
        "--stage-gpus",
        type=float,
        default=None,
        help="GPUs each Ray stage task asks for (default 1 on a CUDA device, else 0)",
    )
    add_threads(p)


def run(args: argparse.Namespace) -> int:
    from musebench.experiment.adapters import validate_method
    from musebench.experiment.config import load_experiment
    from musebench.io import check_output_dir

    set_threads(args.threads)
    cfg = load_experiment(args.experiment, method_validator=validate_method)
    out = Path(args.out) if args.out else Path("runs") / cfg.name
    if args.dry_run:  # validate and print the plan: touch nothing
        return dry_run(cfg, out)
    # a file, an unwritable place or a directory of someone else's files is refused before any stage runs
    check_output_dir(out, kind="experiment", force=args.force)
    import os

    from musebench.errors import ConfigError
    from musebench.experiment.executors import make_executor

    if args.executor == "serial" and (args.address or args.num_cpus is not None):
        raise ConfigError("only with --executor ray", field="--address" if args.address else "--num-cpus")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # accelerate launch / torchrun: every process takes part
        if args.executor != "serial":
            raise ConfigError(
                "a multi-process launch runs its stages itself; use one or the other",
                field="--executor",
                value=args.executor,
            )
        from musebench.evaluate.sharding import init_from_environment
        from musebench.experiment.executors.ranks import RankExecutor
        from musebench.models.device import resolve_device

        shard, device = init_from_environment(resolve_device(cfg.device))
        executor = RankExecutor(shard, device)
    else:
        executor = make_executor(
            args.executor,
            address=args.address,
            num_cpus=args.num_cpus,
            stage_cpus=args.stage_cpus,
            stage_gpus=args.stage_gpus,
            device=cfg.device,
            dtype=cfg.dtype,
            threads=args.threads,
        )
    try:
        results = execute(cfg, out, force=args.force, report=not args.no_report, executor=executor)
    finally:
        executor.close()
    if not executor.is_main:
        return 0
    failed = results.get("failed") or []
    for f in failed:
        print(
            f"error: stage {f['stage']} failed after {f['attempts']} attempts: {f['error']} (log: {f['log']}); "
            f"the other stages finished; re-run the same command to redo only what is missing",
            file=sys.stderr,
        )
    return 1 if failed else 0


def dry_run(cfg, out: Path) -> int:
    """The validated experiment's stages (the planner's requests) and where they would go; nothing written."""
    from musebench.experiment.plan import Rates, corpus_size, plan_experiment

    plan = plan_experiment(cfg, params=1.0, gpus=1, rates=Rates(), size=corpus_size(cfg))
    state = "exists: finished stages would be reused" if out.exists() else "would be created"
    print(f"dry run of {cfg.name} ({cfg.source_file}): valid; output {out} ({state}); nothing was written")
    print("stages: corpus, target and retrain models, their evaluations")
    for r in plan["requests"]:
        after = f", after {r.after}" if r.after else ""
        if r.same_as:
            print(f"  {r.stage}: {r.method}, the same request as {r.same_as} (its checkpoints are taken){after}")
            continue
        print(
            f"  {r.stage}: {r.method}, {r.steps:,} step(s), {r.checkpoints} checkpoint(s), "
            f"{r.evaluations} evaluation(s){after}"
        )
    print(
        f"{plan['stages']} stages, {plan['evaluations']} evaluations at most; "
        f"cost estimate: musebench plan {cfg.source_file}"
    )
    return 0


def execute(cfg, out: Path, force: bool = False, report: bool = True, executor=None) -> dict:
    """Run ``cfg`` into ``out`` with progress on the terminal, then print the Table-3 summary."""
    from musebench.experiment.adapters import LibraryBackend
    from musebench.experiment.progress import ConsoleReporter
    from musebench.experiment.runner import run_experiment
    from musebench.experiment.tables import console as make_console
    from musebench.experiment.tables import follow_up_lines, table3
    from musebench.results import RESULTS_FILE, parse_results

    backend = LibraryBackend(cfg.device, cfg.dtype)
    main = executor is None or executor.is_main
    results = run_experiment(
        cfg,
        out,
        backend,
        force=force,
        reporter=ConsoleReporter(cfg.name) if main else None,
        report=report,
        executor=executor,
    )
    if not main:
        return results
    record = parse_results(results, out / RESULTS_FILE, complete=False)  # the table reads what the file holds
    console = make_console()
    console.print(table3(record))
    for line in follow_up_lines(record):
        console.print(line)
    where = f"{out / 'results.json'}" + (f", report in {out / results['report']}" if results.get("report") else "")
    console.print(f"results: {where}  (total {results['timing_s'].get('total', 0):.0f}s)")
    return results
