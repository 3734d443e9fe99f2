"""GPU evaluation check: the Llama-2-7B shape in bf16 (random weights) on the MUSE-shaped workload.

Run by ``benchmarks/gpu_check.sh`` (budget: <= 5 minutes on one H100/H200-class GPU). Prints, per phase:
musebench's time on the whole workload (100 VerbMem prompts, 2 x 100 KnowMem questions, 200 PrivLeak texts),
tokens/s, peak GPU memory and the fraction of the roofline (this GPU's measured bf16 GEMM rate and copy
bandwidth); then, on a subset, the original's algorithm (HF ``generate`` one prompt at a time) beside
musebench's batched path: time and the greedy agreement rate in bf16 (batched bf16 matmuls round differently
from batch-1 ones, so a few continuations may part ways after a near-tie; fp32 agreement is what the CPU
exactness tests pin down).

    python benchmarks/gpu_eval_check.py --work OUT                     # on the GPU machine
    python benchmarks/gpu_eval_check.py --work OUT --dry-run-cpu       # CPU, tiny shape, 2 records: seconds
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import muse_shaped
import muse_shaped_bench as bench
import torch


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", "--out", dest="out", required=True, help="where the workload, the JSON and the table go"
    )
    parser.add_argument("--size", default="7b", choices=sorted(muse_shaped.MODEL_SIZES))
    parser.add_argument("--records", type=int, default=100, help="records per part for the musebench run")
    parser.add_argument("--subset", type=int, default=8, help="records per part for the batch-1 comparison")
    parser.add_argument(
        "--dry-run-cpu",
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="CPU, tiny shape, 2 records (checks the script)",
    )
    args = parser.parse_args()
    if args.dry_run:
        args.size, args.records, args.subset, device = "tiny", 2, 1, torch.device("cpu")
    elif not torch.cuda.is_available():
        print("gpu_eval_check: no CUDA device visible (torch.cuda.is_available() is False); use --dry-run on CPU")
        return 2
    else:
        device = torch.device("cuda")

    from musebench.data import load_corpus
    from musebench.evaluate import EvalSettings, evaluate
    from musebench.models.loading import load_tokenizer

    out = Path(args.out)
    clock = time.perf_counter()
    shape = muse_shaped.WorkloadShape(records=max(args.records, args.subset))
    if args.dry_run:
        shape = dataclasses.replace(shape, prompt_tokens=64, reference_tokens=16, privacy_tokens=96, shots=3)
    data = out / "data"
    if not (data / "workload.json").is_file():
        muse_shaped.write_workload(data, shape)
    corpus = load_corpus(data)
    tokenizer = load_tokenizer(data / "tokenizer")
    model = muse_shaped.build_model(tokenizer, args.size, device=str(device))
    setup_s = time.perf_counter() - clock
    params = sum(p.numel() for p in model.parameters())
    settings = EvalSettings(bootstrap_samples=200)
    if args.dry_run:
        settings = dataclasses.replace(
            settings, verbmem_max_new_tokens=8, verbmem_gt_max_tokens=8, knowmem_max_new_tokens=4
        )
    rates = bench.measure_rates(device, next(model.parameters()).dtype)

    # 1. musebench on the whole workload, phase by phase
    phases = {}
    new_tokens = {}
    for phase in bench.PHASES:
        sub = bench.phase_corpus(corpus, phase, args.records)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        sync(device)
        start = time.perf_counter()
        result = evaluate(model, tokenizer, sub, settings, metrics=[phase], retrain_auc="news", progress=False)
        sync(device)
        wall = time.perf_counter() - start
        rows = [r for r in result.per_example if r["criterion"] == phase]
        new_tokens[phase] = [r.get("output_tokens", 0) for r in rows]
        phases[phase] = {
            "musebench_s": wall,
            "peak_gb": (torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else None),
            "model_work_s": sum(result.provenance["timing_s"].values()),
        }
    full = dataclasses.replace(
        bench.phase_corpus(corpus, "verbmem_f", args.records),
        knowmem_forget_qa=corpus.knowmem_forget_qa[: args.records],
        knowmem_retain_qa=corpus.knowmem_retain_qa[: args.records],
        knowmem_forget_qa_icl=corpus.knowmem_forget_qa_icl,
        knowmem_retain_qa_icl=corpus.knowmem_retain_qa_icl,
        privleak_forget=corpus.privleak_forget[: args.records],
        privleak_holdout=corpus.privleak_holdout[: args.records],
    )
    work = bench.workload_tokens(tokenizer, full, settings, new_tokens)
    limits = bench.phase_limits(bench.Shape.of(model), work, rates)
    for phase, (flops, nbytes, seconds) in limits.items():
        tokens = sum(work[phase].get("prompts", work[phase].get("texts", []))) + sum(work[phase].get("new", []))
        phases[phase].update(
            limit_s=seconds,
            fraction=seconds / max(phases[phase]["model_work_s"], 1e-9),
            tokens=tokens,
            tokens_per_s=tokens / phases[phase]["musebench_s"],
            flops=flops,
            bytes=nbytes,
        )

    # 2. the original's algorithm (batch 1) vs musebench on a subset: time and greedy agreement in bf16
    original, oracle_name = bench._original_scorer()
    subset = {}
    for phase in bench.PHASES:
        sub = bench.phase_corpus(corpus, phase, args.subset)
        sync(device)
        start = time.perf_counter()
        slow = original(model, tokenizer, sub, settings)
        sync(device)
        slow_s = time.perf_counter() - start
        start = time.perf_counter()
        fast = evaluate(model, tokenizer, sub, settings, metrics=[phase], retrain_auc="news", progress=False)
        sync(device)
        fast_s = time.perf_counter() - start
        entry = {"original_s": slow_s, "musebench_s": fast_s}
        if phase == "privleak":
            got = [r["scores"]["mink_40"] for r in fast.per_example if r.get("split") == "forget"]
            want = [r.get("scores", r)["mink_40"] for r in slow["privacy"]["forget"]]
            entry["max_abs_diff_min40"] = max(abs(a - b) for a, b in zip(got, want))
        else:
            outputs = [r["output"] for r in fast.per_example if r["criterion"] == phase]
            entry["agreement"] = sum(a == b for a, b in zip(outputs, slow["outputs"][phase])) / len(outputs)
        subset[phase] = entry

    total = sum(p["musebench_s"] for p in phases.values())
    lines = [
        f"### GPU check: {args.size} shape ({params / 1e9:.2f}B params, {next(model.parameters()).dtype}) on "
        f"{torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU (dry run)'}",
        "",
        f"measured: GEMM {rates['matmul_flops'] / 1e12:.1f} TFLOP/s, copy {rates['bandwidth'] / 1e9:.0f} GB/s; "
        f"set-up (workload + model) {setup_s:.0f} s; {args.records} records per part",
        "",
        "| phase | musebench (s) | tokens/s | peak memory (GB) | limit (s) | fraction of roofline |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, p in phases.items():
        peak = f"{p['peak_gb']:.1f}" if p["peak_gb"] is not None else "-"
        lines.append(
            f"| {name} | {p['musebench_s']:.1f} | {p['tokens_per_s']:,.0f} | {peak} | {p['limit_s']:.2f} | "
            f"{p['fraction'] * 100:.0f} % |"
        )
    lines += [
        f"| **whole evaluation** | **{total:.1f}** | | | {sum(p['limit_s'] for p in phases.values()):.1f} | |",
        "",
        f"batch-1 original algorithm ({oracle_name}) vs musebench, {args.subset} records per part:",
        "",
        "| phase | original (s) | musebench (s) | speed-up | greedy agreement (bf16) / max abs diff |",
        "|---|---:|---:|---:|---|",
    ]
    for name, e in subset.items():
        agree = (
            f"{e['agreement'] * 100:.0f} % identical outputs"
            if "agreement" in e
            else f"Min-40% within {e['max_abs_diff_min40']:.1e}"
        )
        lines.append(
            f"| {name} | {e['original_s']:.1f} | {e['musebench_s']:.1f} | "
            f"{e['original_s'] / e['musebench_s']:.1f}x | {agree} |"
        )
    text = "\n".join(lines)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_eval_check.md").write_text(text + "\n")
    (out / "gpu_eval_check.json").write_text(
        json.dumps({"phases": phases, "subset": subset, "rates": rates, "setup_s": setup_s}, indent=1, default=float)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
