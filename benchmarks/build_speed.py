"""Generate a mini corpus, build its target and retrain models (timed), evaluate both and check the gates.

    python benchmarks/build_speed.py --corpus news-mini --size default --threads 2 --out bench/news-default

Prints the build times, the scores of both models (musebench.evaluate, with MINI_EVAL_SETTINGS[size]) and the
validity gates as Markdown; writes the same to OUT/validity.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = json.loads(value)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="news-mini")
    p.add_argument("--size", default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True)
    p.add_argument("--set", nargs="*", default=[], help="recipe overrides, e.g. epochs=40 lr=0.002")
    p.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from musebench.data import load_corpus
    from musebench.data.synthetic import MINI_EVAL_SETTINGS
    from musebench.models.mini_corpus import write_mini_corpus as write_corpus
    from musebench.evaluate import EvalSettings, evaluate
    from musebench.models.build import build_model
    from musebench.models.gates import check_gates, gates_table
    from musebench.models.loading import load_model
    from musebench.models.recipe import recipe_for

    out = Path(args.out)
    data = write_corpus(args.corpus, args.size, args.seed, out / "data")
    recipe = recipe_for(args.size).with_overrides(parse_overrides(args.set))
    times = {}
    for role in ("retrain", "target"):
        start = time.perf_counter()
        build_model(data, role, out / "models", recipe=recipe, seed=args.seed, force=args.force)
        times[role] = time.perf_counter() - start
    corpus = load_corpus(data)
    settings = EvalSettings(**MINI_EVAL_SETTINGS[args.size])
    scores = {}
    for role in ("retrain", "target"):
        loaded = load_model(out / "models" / role)
        retrain_auc = scores["retrain"]["auc"] if role == "target" else None
        scores[role] = evaluate(loaded.model, loaded.tokenizer, corpus, settings, retrain_auc=retrain_auc,
                                progress=False).scores
    gates = check_gates(scores["target"], scores["retrain"])
    records = {r: json.loads((out / "models" / r / "build.json").read_text()) for r in ("retrain", "target")}
    print(f"recipe: {recipe.to_dict()}")
    print(f"build seconds: target {times['target']:.1f}, retrain {times['retrain']:.1f}, "
          f"total {sum(times.values()):.1f} ({args.threads} threads)")
    for r in ("target", "retrain"):
        print(f"{r}: final loss {records[r]['final_loss']}, train {records[r]['train_seconds']} s, "
              f"{records[r]['tokens_per_epoch']} tokens/epoch, " + ", ".join(
                  f"{k} {v:.3f}" if k in ("auc",) else f"{k} {v:.1f}" for k, v in scores[r].items()
                  if isinstance(v, float)))
    print(gates_table(gates))
    from musebench.io import atomic_write_json

    atomic_write_json(out / "validity.json", {"recipe": recipe.to_dict(), "build_seconds": times, "scores": scores,
                                              "gates": [g.__dict__ for g in gates],
                                              "final_loss": {r: records[r]["final_loss"] for r in records}})


if __name__ == "__main__":
    main()
