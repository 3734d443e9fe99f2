"""Estimate what an experiment costs before running it: its stages, unlearning steps, evaluations, tokens, and
GPU-hours and wall time on N GPUs, from FLOP counts at stated per-GPU rates (assumed H100-class by default;
--rates FILE reads rates measured by benchmarks/gpu_unlearn_check.py). Also how the cost grows with one more
method, epoch or fold. Nothing is loaded or run."""

from __future__ import annotations

import argparse
import copy

EXAMPLES = """examples:
  musebench plan examples/muse-news-release.yaml                 # 7B, 1 GPU
  musebench plan examples/muse-news-release.yaml --gpus 8
  musebench plan examples/news-mini.yaml --model-size 3.5m --rates rates.json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment YAML file (see examples/*.yaml)")
    p.add_argument("--model-size", default="7b", help="parameters of the target model, e.g. 7b, 1.3b (default 7b)")
    p.add_argument("--gpus", type=int, default=1, help="GPUs available (default 1)")
    p.add_argument("--rates", help="JSON of per-GPU rates (flops_per_s, memory_bandwidth, decode_batch, ...)")
    p.add_argument("--json", action="store_true", help="print the plan as JSON instead of tables")


def run(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from musebench.errors import ConfigError
    from musebench.experiment.config import load_experiment
    from musebench.experiment.plan import Rates, corpus_size, parse_model_size, plan_experiment

    if args.gpus < 1:
        raise ConfigError("must be >= 1", field="--gpus", value=args.gpus)
    params = parse_model_size(args.model_size)
    rates = Rates.from_file(args.rates) if args.rates else Rates()
    cfg = load_experiment(args.experiment)
    size = corpus_size(cfg)
    plan = plan_experiment(cfg, params, args.gpus, rates, size)
    growth = cost_growth(cfg, params, args.gpus, rates, size, plan)
    if args.json:
        out = {k: v for k, v in plan.items() if k not in ("requests", "size", "rates")}
        out.update(
            requests=[asdict(r) for r in plan["requests"]], size=asdict(size), rates=asdict(rates), growth=growth
        )
        print(json.dumps(out, indent=2))
        return 0
    print_plan(cfg, plan, growth)
    return 0


def cost_growth(cfg, params, gpus, rates, size, plan) -> dict[str, float]:
    """GPU-hours added by one more main method (the mean of the file's), one more epoch of every trained
    method, and one more C5 fold / C6 request per follow-up method (the mean of the file's)."""
    from musebench.experiment.plan import plan_experiment

    reqs = plan["requests"]
    main = [r.gpu_s for r in reqs if r.stage.startswith("methods/")]
    out = {"per_method": sum(main) / len(main) / 3600 if main else 0.0}
    from musebench.unlearn import METHODS

    more = copy.deepcopy(cfg)
    for spec in more.methods:
        if not METHODS[spec.method].sweeps_alphas:
            fields = cfg.unlearn_fields(spec)
            spec.params["num_train_epochs"] = int(fields.get("num_train_epochs", 10)) + 1
    out["per_epoch"] = plan_experiment(more, params, gpus, rates, size)["gpu_hours"] - plan["gpu_hours"]
    for key in ("scal", "sust"):
        rows = [r.gpu_s for r in reqs if r.stage.startswith(f"{key}/")]
        out[f"per_{key}_fold"] = sum(rows) / len(rows) / 3600 if rows else 0.0
    return out


def print_plan(cfg, plan: dict, growth: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 132)
    size, rates = plan["size"], plan["rates"]
    console.print(
        f"[bold]plan of {cfg.name}[/bold]: {plan['params'] / 1e9:.2f}B parameters, {plan['gpus']} GPU(s); "
        f"forget set {size.forget_tokens / 1e6:.2f}M tokens ({size.source})"
    )
    table = Table(title="requests (each: unlearn, then evaluate its checkpoints)")
    for col in ("stage", "method", "forget tokens", "steps", "train tokens", "checkpoints", "evaluations", "GPU-h"):
        table.add_column(col, justify="left" if col in ("stage", "method") else "right", no_wrap=True)
    for r in plan["requests"]:
        if r.same_as:
            table.add_row(r.stage, r.method, f"{r.forget_tokens / 1e6:.2f}M", f"= {r.same_as}", "", "", "", "0.00")
            continue
        table.add_row(
            r.stage,
            r.method,
            f"{r.forget_tokens / 1e6:.2f}M",
            f"{r.steps:,}",
            f"{r.train_tokens / 1e6:.1f}M",
            str(r.checkpoints),
            str(r.evaluations),
            f"{r.gpu_s / 3600:.2f}",
        )
    console.print(table)
    ev = plan["eval_minutes"]
    console.print(
        f"stages: {plan['stages']} ({len(plan['requests'])} unlearning runs, {plan['evaluations']} evaluations "
        f"at most: one full evaluation {ev['full']:.1f} GPU-min, one selection-only {ev['selection']:.2f} GPU-min)"
    )
    console.print(
        f"unlearning steps: {plan['unlearn_steps']:,} at {plan['gpus']} GPU(s); tokens trained on: "
        f"{plan['train_tokens'] / 1e9:.2f}B"
    )
    console.print(
        f"[bold]total: {plan['gpu_hours']:.1f} GPU-hours[/bold]; wall time on {plan['gpus']} GPU(s): "
        f"{plan['wall_hours_data_parallel']:.1f} h with every stage data-parallel, "
        f"{plan['wall_hours_stages']:.1f} h with stages side by side (--executor ray; the longest "
        f"chain, C6's requests in order, takes {plan['critical_hours']:.1f} h on one GPU)"
    )
    console.print(
        f"grows by: {growth['per_method']:.2f} GPU-h per main method, {growth['per_epoch']:.2f} GPU-h per "
        f"epoch (all methods), {growth['per_scal_fold']:.2f} per C5 fold and {growth['per_sust_fold']:.2f} "
        f"per C6 request (per follow-up method)"
    )
    console.print(
        f"rates: {rates.flops_per_s / 1e12:.0f} TFLOP/s, {rates.memory_bandwidth / 1e12:.1f} TB/s decode, "
        f"decode batch {rates.decode_batch} - {rates.source}. Upper bound where checkpoints: selection "
        "stops early."
    )
