"""Generate a mini corpus, build its base, target and retrain models (timed), evaluate them and check the gates.

    python benchmarks/build_speed.py --corpus news-mini --size default --seed 0 --threads 2 --out bench/news-default
    python benchmarks/build_speed.py --corpus news-mini --size tiny --base DIR --out bench/tiny-real  # a real base

Prints the build times, the base's held-out background KnowMem (mini base only), the scores of both models
with their bootstrap 95% CIs (musebench.evaluate, with MINI_EVAL_SETTINGS[size]), the constant-answer baseline
and the validity gates as Markdown; writes the same to OUT/validity.json. Also the base's own Min-40% AUC (forget
against holdout): the base read neither split, so its AUC is what the names and texts alone give, the level
against which the retrain model's AUC is read (on the tiny world, 8 people a side, it is far from 0.5).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path


def parse_overrides(items: list[str]) -> dict:
    """``key=value`` pairs; a value is read as JSON (numbers, booleans) and kept as text when it is not."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"build_speed: expected key=value, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def with_ci(scores: dict, ci: dict, key: str) -> str:
    """``46.9 [31.2, 62.5]`` (AUC with three decimals); the CI is left out when none was computed."""
    digits = 3 if key == "auc" else 1
    interval = ci.get(key)
    text = f"{scores[key]:.{digits}f}"
    return text + (f" [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]" if interval else "")


def scores_table(scores: dict, cis: dict, baseline: dict) -> str:
    """Target and retrain scores with their bootstrap 95% CIs, the constant-answer KnowMem-f beside them."""
    rows = [
        "| | VerbMem-f | KnowMem-f | constant-answer KnowMem-f | KnowMem-r | Min-40% AUC | PrivLeak |",
        "|---|---|---|---|---|---|---|",
    ]
    for role in ("target", "retrain"):
        s, c = scores[role], cis[role]
        privleak = with_ci(s, c, "privleak") + " %" if s.get("privleak") is not None else ""
        rows.append(
            f"| {role} | {with_ci(s, c, 'verbmem_f')} | {with_ci(s, c, 'knowmem_f')} | "
            f"{baseline['knowmem_f']:.1f} | {with_ci(s, c, 'knowmem_r')} | {with_ci(s, c, 'auc')} | "
            f"{privleak} |"
        )
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="news-mini")
    p.add_argument("--size", default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True)
    p.add_argument("--base", default=None, help="a pretrained causal LM to fine-tune instead of the mini base")
    p.add_argument("--set", nargs="*", default=[], help="recipe overrides, e.g. epochs=40 lr=0.002")
    p.add_argument(
        "--eval", nargs="*", default=[], help="EvalSettings overrides, e.g. knowmem_prompt=no_trailing_space"
    )
    p.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from musebench.data import load_corpus
    from musebench.data.synthetic import MINI_EVAL_SETTINGS, read_synthetic_meta
    from musebench.evaluate import EvalSettings, evaluate
    from musebench.evaluate.bootstrap import paired_difference_ci
    from musebench.io import atomic_write_json
    from musebench.models.base import build_base, probe_corpus
    from musebench.models.build import build_model
    from musebench.models.gates import check_base_gate, check_gates, gates_table
    from musebench.models.loading import load_model
    from musebench.models.mini_corpus import write_mini_corpus
    from musebench.models.recipe import PRETRAINED_RECIPE, recipe_for
    from musebench.robustness.attacks import item_scores

    out = Path(args.out)
    data = write_mini_corpus(args.corpus, args.size, args.seed, out / "data")
    meta = read_synthetic_meta(data)
    recipe = (PRETRAINED_RECIPE if args.base else recipe_for(args.size)).with_overrides(parse_overrides(args.set))
    settings = EvalSettings(**{**MINI_EVAL_SETTINGS[args.size], **parse_overrides(args.eval)})
    times, scores, cis, items = {}, {"base": {}}, {"base": {}}, {}
    if not args.base:
        start = time.perf_counter()
        build_base(data, out / "models", recipe, seed=args.seed, force=args.force)
        times["base"] = time.perf_counter() - start
    corpus = load_corpus(data)
    loaded = load_model(args.base or out / "models" / "base")  # loaded once for both of its evaluations
    base_runs = [] if args.base else [(probe_corpus(data), "knowmem_f")]  # the mini base's extraction gate
    # the base read neither forget nor holdout: its AUC is the level the names and texts alone give
    base_runs.append((corpus, "privleak"))
    for texts, metric in base_runs:
        result = evaluate(loaded.model, loaded.tokenizer, texts, settings, metrics=[metric], progress=False)
        key = "auc" if metric == "privleak" else metric
        scores["base"][key], cis["base"][key] = result.scores[key], result.ci.get(key)
    for role in ("retrain", "target"):
        start = time.perf_counter()
        build_model(data, role, out / "models", recipe=recipe, seed=args.seed, force=args.force, base=args.base)
        times[role] = time.perf_counter() - start
    for role in ("retrain", "target"):
        loaded = load_model(out / "models" / role)
        retrain_auc = scores["retrain"]["auc"] if role == "target" else None
        result = evaluate(loaded.model, loaded.tokenizer, corpus, settings, retrain_auc=retrain_auc, progress=False)
        scores[role], cis[role] = result.scores, result.ci
        items[role] = item_scores(result.per_example).get("knowmem_r", [])
    baseline = meta["constant_answer"]
    gap_ci = paired_difference_ci(
        items["target"], items["retrain"], corpus.unit_labels("knowmem_retain_qa"), name="utility_gap"
    )
    gates = check_gates(
        scores["target"],
        scores["retrain"],
        constant_answer=baseline["knowmem_f"],
        size=args.size,
        utility_gap_ci=gap_ci,
    )
    if "knowmem_f" in scores["base"]:
        gates.insert(0, check_base_gate(scores["base"]["knowmem_f"], args.size))
    records = {r: json.loads((out / "models" / r / "build.json").read_text()) for r in ("retrain", "target")}
    print(f"commit {commit()}; recipe: {recipe.to_dict()}; eval: {settings.to_dict()}")
    print(
        "build seconds: "
        + ", ".join(f"{r} {t:.1f}" for r, t in times.items())
        + f", total {sum(times.values()):.1f} ({args.threads} threads)"
    )
    print(f"constant-answer baseline: KnowMem-f {baseline['knowmem_f']:.1f}, KnowMem-r {baseline['knowmem_r']:.1f}")
    if "knowmem_f" in scores["base"]:
        print(f"base: held-out background KnowMem {with_ci(scores['base'], cis['base'], 'knowmem_f')}")
    print(f"base (read neither forget nor holdout): Min-40% AUC {with_ci(scores['base'], cis['base'], 'auc')}")
    for r in ("target", "retrain"):
        print(
            f"{r}: final loss {records[r]['final_loss']}, {records[r]['steps']} steps, train "
            f"{records[r]['train_seconds']} s, {records[r]['tokens_per_epoch']} tokens/epoch, "
            + ", ".join(
                f"{k} {v:.3f}" if k in ("auc",) else f"{k} {v:.1f}"
                for k, v in scores[r].items()
                if isinstance(v, float)
            )
        )
    print(scores_table(scores, cis, baseline))
    print(gates_table(gates))
    atomic_write_json(
        out / "validity.json",
        {
            "commit": commit(),
            "recipe": recipe.to_dict(),
            "settings": settings.to_dict(),
            "build_seconds": times,
            "scores": scores,
            "ci": cis,
            "constant_answer": baseline,
            "gates": [g.__dict__ for g in gates],
            "utility_gap_ci": gap_ci,
            "steps": {r: records[r]["steps"] for r in records},
            "final_loss": {r: records[r]["final_loss"] for r in records},
        },
    )


if __name__ == "__main__":
    main()
