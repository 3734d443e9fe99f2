"""Speed and exactness of the evaluation engine against a naive scorer written like the original.

The same model and corpus go through (a) ``musebench.evaluate.naive_scorer.naive_evaluate``: batch 1, no
padding, ``model.generate`` one prompt at a time, one forward per privacy text (plus one for its lower-cased
twin) with log-probs read one token at a time, as the original scorer does; and (b) ``musebench.evaluate.evaluate``: deduplicated, length-sorted, batched requests,
our KV-cache decode loop, one forward per text. Each path runs in its own process (clean peak RSS) with
the same torch thread count. Prints a Markdown table: wall time, tokens/s, peak RSS, speed-up, and
whether outputs and scores are identical.

    python benchmarks/eval_speed.py                       # mini default corpus + random mini-size Llama
    python benchmarks/eval_speed.py --model models/target --data data/news-mini
    python benchmarks/eval_speed.py --workload muse-shaped --threads 2 --records 100 --scaling   # muse_shaped.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def prepare(args, work: Path) -> tuple[str, str, dict]:
    """Data directory, model directory and EvalSettings overrides for the run."""
    from musebench.data.synthetic import MINI_EVAL_SETTINGS, read_synthetic_meta
    from musebench.models.mini_corpus import write_mini_corpus as write_corpus

    data = args.data
    if data is None:
        data = str(write_corpus("news-mini", args.size, 0, work / "data"))
    meta = read_synthetic_meta(data) if Path(data).is_dir() else None
    settings = dict(MINI_EVAL_SETTINGS[meta["size"]]) if meta else {}
    model = args.model
    if model is None:
        from musebench.models.loading import load_tokenizer
        from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama

        tok = load_tokenizer(Path(data) / "tokenizer")
        spec = TinyLlamaSpec(hidden_size=256, num_layers=4, num_heads=4, intermediate_size=512)
        net = build_tiny_llama(tok, spec, seed=0)
        model = str(work / "model")
        net.save_pretrained(model, safe_serialization=True)
        tok.save_pretrained(model)
    return data, model, settings


def warm_imports() -> None:
    """Load the scorers' lazily imported libraries before either clock starts.

    ``rouge_score`` pulls in nltk, and sklearn pulls in scipy: ~1.6 CPU seconds of one-off module loading
    that both paths would otherwise pay inside their timed region (it is process start-up, not scoring).
    """
    from musebench.evaluate.metrics import _rouge_l, auc, tpr_at_fpr

    _rouge_l()
    auc([0.0, 1.0], [1.0, 2.0])
    tpr_at_fpr([0.0, 1.0], [1.0, 2.0], 0.05)


def worker(path: str, model_dir: str, data: str, settings: dict, threads: int, out: str) -> None:
    import torch

    from musebench.data import load_corpus
    from musebench.evaluate import EvalSettings, evaluate
    from musebench.evaluate.naive_scorer import naive_evaluate
    from musebench.models.loading import load_model

    torch.set_num_threads(threads)
    lm = load_model(model_dir)
    corpus = load_corpus(data)
    settings = EvalSettings(**settings)
    warm_imports()
    n_params = sum(p.numel() for p in lm.model.parameters())
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu_start = time.perf_counter(), time.process_time()
    if path == "fast":
        result = evaluate(lm.model, lm.tokenizer, corpus, settings, retrain_auc="news", progress=False)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        outputs, privacy = {}, {}
        for row in result.per_example:
            if row["criterion"] == "privleak":
                privacy.setdefault(row["split"], []).append(row["scores"])
            else:
                outputs.setdefault(row["criterion"], []).append(row["output"])
        scores = {k: v for k, v in result.scores.items() if k != "privleak"}
        tok = lm.tokenizer
        gen_rows = [r for r in result.per_example if r["criterion"] != "privleak"]
        prompt_tokens = sum(
            len(ids)
            for ids in tok([knowmem_or_prompt(corpus, settings, r) for r in gen_rows], add_special_tokens=True)[
                "input_ids"
            ]
        )
        generated = sum(r["output_tokens"] for r in gen_rows)
        scored = sum(r["n_tokens"] for r in result.per_example if r["criterion"] == "privleak")
        tokens = {"prompt": prompt_tokens, "generated": generated, "scored": scored}
        groups = result.provenance["cpu_s"]
        phases = {
            "verbmem_f": groups.get("generate-verbmem_f", 0.0),
            "knowmem_f": groups.get("generate-knowmem_f", 0.0),
            "knowmem_r": groups.get("generate-knowmem_r", 0.0),
            "privacy": groups.get("logprobs-privleak", 0.0),
        }
    else:
        naive = naive_evaluate(lm.model, lm.tokenizer, corpus, settings)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        outputs, scores, tokens = naive["outputs"], naive["scores"], None
        privacy = {split: [r["scores"] for r in rows] for split, rows in naive["privacy"].items() if rows}
        phases = naive["cpu_s"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(out).write_text(
        json.dumps(
            {
                "wall_s": wall,
                "cpu_s": cpu,
                "peak_rss_mb": peak / 1024,
                "rss_before_mb": rss_before / 1024,
                "outputs": outputs,
                "privacy": privacy,
                "scores": scores,
                "tokens": tokens,
                "phases": phases,
                "params": n_params,
                "settings": settings.to_dict(),
            }
        )
    )


def knowmem_or_prompt(corpus, settings, row) -> str:
    from musebench.evaluate.tasks import knowmem_prompt, select_shots

    if row["criterion"] == "verbmem_f":
        return corpus.verbmem_forget[row["index"]].prompt
    icl = corpus.knowmem_forget_qa_icl if row["criterion"] == "knowmem_f" else corpus.knowmem_retain_qa_icl
    return knowmem_prompt(row["input"], select_shots(icl, settings.knowmem_num_shots))


def compare(naive: dict, fast: dict) -> tuple[bool, float]:
    """Generated texts, ROUGE scores and AUC equal; the largest attack-score difference."""
    same = naive["outputs"] == fast["outputs"] and naive["scores"] == fast["scores"]
    worst = 0.0
    for split, rows in naive["privacy"].items():
        for a, b in zip(rows, fast["privacy"].get(split, [])):
            worst = max([worst] + [abs(a[k] - b[k]) for k in a])
    return same, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: random Llama, hidden 256, 4 layers)")
    parser.add_argument("--data", help="corpus directory (default: generated news-mini corpus)")
    parser.add_argument("--size", default="default", choices=("tiny", "small", "default"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both paths (default 1)")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument(
        "--workload",
        default="mini",
        choices=("mini", "muse-shaped"),
        help="mini: a news-mini corpus (below); muse-shaped: release-shaped texts, 32k vocabulary, "
        "both paths interleaved phase by phase with a roofline (muse_shaped_bench.py)",
    )
    parser.add_argument("--records", type=int, default=100, help="muse-shaped: records per part (release: 100)")
    parser.add_argument("--work", default="bench/muse-shaped", help="muse-shaped: where the workload is kept")
    parser.add_argument("--scaling", action="store_true", help="muse-shaped: also time PrivLeak vs texts / length")
    parser.add_argument("--scaling-only", action="store_true", help="muse-shaped: only the scaling tables")
    parser.add_argument("--scaling-counts", default="2,4,8,16", help="muse-shaped: text pairs per scaling point")
    parser.add_argument(
        "--scaling-lengths",
        default="256,512,1024,2048",
        help="muse-shaped: text lengths (tokens) of the scaling points, at the most pairs",
    )
    parser.add_argument("--json", help="muse-shaped: also write the raw measurements here")
    parser.add_argument("--worker", choices=("naive", "fast"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workload == "muse-shaped":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import muse_shaped_bench

        return muse_shaped_bench.main(args)
    if args.worker:
        spec = json.loads(args.spec)
        worker(args.worker, spec["model"], spec["data"], spec["settings"], args.threads, spec["out"])
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data, model, settings = prepare(args, work)
        results = {}
        for path in ("fast", "naive"):
            spec = {"model": model, "data": data, "settings": settings, "out": str(work / f"{path}.json")}
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    path,
                    "--threads",
                    str(args.threads),
                    "--spec",
                    json.dumps(spec),
                ],
                check=True,
            )
            results[path] = json.loads((work / f"{path}.json").read_text())
    naive, fast = results["naive"], results["fast"]
    same, worst = compare(naive, fast)
    tokens = sum(fast["tokens"].values())
    lines = [
        f"model: {args.model or 'random Llama (hidden 256, 4 layers, 4 heads, MLP 512)'}, "
        f"{fast['params'] / 1e6:.1f}M params; data: {args.data or f'generated news-mini ({args.size})'}; "
        f"torch threads: {args.threads}",
        f"work: {fast['tokens']['prompt']} prompt + {fast['tokens']['generated']} generated + "
        f"{fast['tokens']['scored']} scored tokens; settings: {json.dumps(settings)}",
        "",
        "| path | wall (s) | CPU (s) | tokens/s (CPU) | peak RSS (MB) | speed-up wall / CPU | identical |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| naive (batch 1, HF generate, one forward per text) | {naive['wall_s']:.1f} | {naive['cpu_s']:.1f} "
        f"| {tokens / naive['cpu_s']:,.0f} | {naive['peak_rss_mb']:.0f} | 1.0x / 1.0x | reference |",
        f"| musebench fast path | {fast['wall_s']:.1f} | {fast['cpu_s']:.1f} | {tokens / fast['cpu_s']:,.0f} "
        f"| {fast['peak_rss_mb']:.0f} | {naive['wall_s'] / fast['wall_s']:.1f}x / {naive['cpu_s'] / fast['cpu_s']:.1f}x "
        f"| {'yes' if same else 'NO'}: texts, ROUGE, AUC equal; attack scores max abs diff {worst:.1e} |",
        "",
        "| CPU seconds by phase | naive | fast | speed-up |",
        "|---|---:|---:|---:|",
        *[
            f"| {name} | {naive['phases'][name]:.1f} | {fast['phases'][name]:.1f} | "
            f"{naive['phases'][name] / max(fast['phases'][name], 1e-9):.1f}x |"
            for name in naive["phases"]
        ],
        "",
        "(fast-path phases are model work only; its remaining CPU time is ROUGE, attack tables and 1000-sample "
        "bootstrap CIs, which the naive path does not compute)",
        "",
        "scores (fast): " + ", ".join(f"{k}={v:.4g}" for k, v in fast["scores"].items()),
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
