"""The MUSE-shaped evaluation benchmark: the original's algorithm vs musebench, phase by phase, with a roofline.

One process, one model, one thread count. For each phase (VerbMem, KnowMem forget, KnowMem retain, PrivLeak)
both paths run back to back, alternating which goes first, so the machine's drift hits both alike:

- original: the naive scorer that follows the original MUSE code (``musebench.evaluate.naive_scorer`` when
  present, else ``reference``'s ``naive_generate`` with a one-forward-per-text-and-its-lower-cased-twin loop
  written here): HF ``generate`` one prompt at a time, the privacy suite on all three splits;
- musebench: ``evaluate(metrics=[phase])``, i.e. exactly the work the phase asks for.

The roofline counts the least work a phase needs (one prefill per prompt, one decode step per new token per
row with every row in one batch, one forward per privacy text, one pass over the logits of the positions that
need them): its matmul FLOPs and the bytes it must move (weights once per forward call, the KV cache read at
every decode step), priced at this machine's measured GEMM rate and memory bandwidth. ``fraction`` = that
limit / the measured time of musebench's model work in the phase.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import zlib

import numpy as np
import torch

PHASES = ("verbmem_f", "knowmem_f", "knowmem_r", "privleak")


# ---------------------------------------------------------------- machine rates
def measure_rates(device: torch.device, dtype: torch.dtype, repeats: int = 3) -> dict:
    """Best-of GEMM rate (FLOP/s) over the workload's typical shapes, and copy bandwidth (bytes/s)."""

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    big = device.type == "cuda"
    shapes = (
        [(8192, 4096, 4096), (4096, 4096, 32000)] if big else [(1024, 256, 32000), (2048, 256, 688), (1024, 1024, 1024)]
    )
    best_flops = 0.0
    for m, k, n in shapes:
        a, b = torch.randn(m, k, device=device, dtype=dtype), torch.randn(k, n, device=device, dtype=dtype)
        a @ b
        for _ in range(repeats):
            sync()
            t = time.perf_counter()
            a @ b
            sync()
            best_flops = max(best_flops, 2 * m * k * n / (time.perf_counter() - t))
    n_bytes = (2 << 30) if big else (256 << 20)
    src = torch.empty(n_bytes // 4, device=device, dtype=torch.float32).fill_(1.0)
    dst = torch.empty_like(src)
    best_bw = 0.0
    for _ in range(repeats + 2):
        sync()
        t = time.perf_counter()
        dst.copy_(src)
        sync()
        best_bw = max(best_bw, 2 * n_bytes / (time.perf_counter() - t))
    return {"matmul_flops": best_flops, "bandwidth": best_bw}


# ---------------------------------------------------------------- least work per phase
@dataclasses.dataclass(frozen=True)
class Shape:
    layer_params: int  # decoder layers' matmul weights
    head_params: int  # vocab x hidden
    layers: int
    hidden: int
    kv: int  # kv heads x head dim
    dtype_bytes: int

    @classmethod
    def of(cls, model) -> Shape:
        c = model.config
        kv = c.num_key_value_heads * (getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads)
        per_layer = 2 * c.hidden_size * c.hidden_size + 2 * c.hidden_size * kv + 3 * c.hidden_size * c.intermediate_size
        return cls(
            per_layer * c.num_hidden_layers,
            c.vocab_size * c.hidden_size,
            c.num_hidden_layers,
            c.hidden_size,
            kv,
            next(model.parameters()).element_size(),
        )

    def forward_flops(self, tokens: int, context_sum: int, head_positions: int) -> float:
        """Matmul FLOPs of ``tokens`` through the layers attending to ``context_sum`` positions in all,
        plus the head at ``head_positions``."""
        return (
            2 * self.layer_params * tokens
            + 4 * self.layers * self.hidden * context_sum
            + 2 * self.head_params * head_positions
        )

    def weight_bytes(self, head: bool = True) -> int:
        return (self.layer_params + (self.head_params if head else 0)) * self.dtype_bytes

    def kv_bytes(self, positions: int) -> int:
        return 2 * self.layers * self.kv * positions * self.dtype_bytes


def prefill_limit(shape: Shape, lengths: list[int], rates: dict) -> tuple[float, float, float]:
    """(FLOPs, bytes, seconds) of prefilling prompts of ``lengths``, one head position each."""
    flops = sum(shape.forward_flops(n, n * (n + 1) // 2, 1) for n in lengths)
    nbytes = shape.weight_bytes() + shape.kv_bytes(sum(lengths))  # weights once, the cache written once
    return flops, nbytes, max(flops / rates["matmul_flops"], nbytes / rates["bandwidth"])


def decode_limit(shape: Shape, lengths: list[int], new_tokens: list[int], rates: dict):
    """(FLOPs, bytes, seconds) of greedy decoding, every row in one batch: per step the weights once and
    every live row's KV cache."""
    flops = nbytes = seconds = 0.0
    for step in range(max(new_tokens) - 1):  # the first new token comes from the prefill's logits
        live = [(n, m) for n, m in zip(lengths, new_tokens) if m > step + 1]
        ctx = sum(n + step + 1 for n, _ in live)
        f = shape.forward_flops(len(live), ctx, len(live))
        b = shape.weight_bytes() + shape.kv_bytes(ctx)
        flops, nbytes = flops + f, nbytes + b
        seconds += max(f / rates["matmul_flops"], b / rates["bandwidth"])
    return flops, nbytes, seconds


def phase_limits(shape: Shape, work: dict, rates: dict) -> dict:
    """Least work and its time for each phase of ``work`` (token counts, see ``workload_tokens``)."""
    out = {}
    v = work["verbmem_f"]
    p = prefill_limit(shape, v["prompts"], rates)
    d = decode_limit(shape, v["prompts"], v["new"], rates)
    out["verbmem_f"] = (p[0] + d[0], p[1] + d[1], p[2] + d[2])
    for crit in ("knowmem_f", "knowmem_r"):
        k = work[crit]
        shared = k["shared"]
        suffix = [n - shared for n in k["prompts"]]
        flops = shape.forward_flops(shared, shared * (shared + 1) // 2, 0) + sum(
            shape.forward_flops(s, s * shared + s * (s + 1) // 2, 1) for s in suffix
        )
        nbytes = 2 * shape.weight_bytes() + shape.kv_bytes(sum(k["prompts"]))
        pre = (flops, nbytes, max(flops / rates["matmul_flops"], nbytes / rates["bandwidth"]))
        d = decode_limit(shape, k["prompts"], k["new"], rates)
        out[crit] = (pre[0] + d[0], pre[1] + d[1], pre[2] + d[2])
    lengths = work["privleak"]["texts"]
    flops = sum(shape.forward_flops(n, n * (n + 1) // 2, n - 1) for n in lengths)
    nbytes = shape.weight_bytes()  # the fused pass keeps logits in cache: weights once, activations small
    out["privleak"] = (flops, nbytes, max(flops / rates["matmul_flops"], nbytes / rates["bandwidth"]))
    return out


# ---------------------------------------------------------------- the original's algorithm
def _original_scorer():
    try:
        from musebench.evaluate import naive_scorer

        return naive_scorer.naive_evaluate, "musebench.evaluate.naive_scorer"
    except ImportError:
        return _fallback_original, "benchmark fallback (HF generate batch 1; text + lower-cased forward per text)"


def _fallback_original(model, tokenizer, corpus, settings, progress=False):
    """The original's algorithm where the faithful oracle has not landed: generation from ``reference``,
    privacy as MUSE's ``inference``: per text a forward over it and over its lower-cased twin."""
    from musebench.evaluate.metrics import auc, knowmem_cut, mean_x100, rouge_l_f1
    from musebench.evaluate.reference import naive_generate
    from musebench.evaluate.tasks import knowmem_prompt, select_shots, verbmem_reference

    out = {"outputs": {}, "scores": {}, "privacy": {}}
    if corpus.verbmem_forget:
        texts = [
            tokenizer.decode(
                naive_generate(model, tokenizer, r.prompt, settings.verbmem_max_new_tokens), skip_special_tokens=True
            )
            for r in corpus.verbmem_forget
        ]
        refs = [verbmem_reference(tokenizer, r.gt, settings.verbmem_gt_max_tokens) for r in corpus.verbmem_forget]
        out["outputs"]["verbmem_f"] = texts
        out["scores"]["verbmem_f"] = mean_x100([rouge_l_f1(r, t) for r, t in zip(refs, texts)])
    for crit, qa, icl in (
        ("knowmem_f", corpus.knowmem_forget_qa, corpus.knowmem_forget_qa_icl),
        ("knowmem_r", corpus.knowmem_retain_qa, corpus.knowmem_retain_qa_icl),
    ):
        if qa:
            shots = select_shots(icl, settings.knowmem_num_shots)
            texts = [
                knowmem_cut(
                    tokenizer.decode(
                        naive_generate(
                            model, tokenizer, knowmem_prompt(p.question, shots), settings.knowmem_max_new_tokens
                        ),
                        skip_special_tokens=True,
                    )
                )
                for p in qa
            ]
            out["outputs"][crit] = texts
            out["scores"][crit] = mean_x100([rouge_l_f1(p.answer, t) for p, t in zip(qa, texts)])

    @torch.inference_mode()
    def nll_and_logprobs(text):
        ids = torch.tensor([tokenizer.encode(text, add_special_tokens=True)], device=model.device)
        logits = model(input_ids=ids).logits.float()
        loss = torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:]).item()
        logp = torch.log_softmax(logits[0, :-1], -1)
        return loss, [logp[i, t].item() for i, t in enumerate(ids[0, 1:].tolist())]

    for split, texts in (
        ("forget", corpus.privleak_forget),
        ("retain", corpus.privleak_retain),
        ("holdout", corpus.privleak_holdout),
    ):
        rows = []
        for text in texts:
            loss, values = nll_and_logprobs(text)
            lower, _ = nll_and_logprobs(text.lower())
            scores = {"nll": loss, "lowercase": loss / lower, "zlib": loss / len(zlib.compress(text.encode()))}
            for k in (5, 10, 20, 30, 40, 50, 60):
                count = int(len(values) * k / 100)
                scores[f"mink_{k}"] = float(-np.mean(np.sort(values)[:count]))
            rows.append({"scores": scores})
        out["privacy"][split] = rows
    if corpus.privleak_forget:
        out["scores"]["auc"] = auc(
            [r["scores"]["mink_40"] for r in out["privacy"]["forget"]],
            [r["scores"]["mink_40"] for r in out["privacy"]["holdout"]],
        )
    return out


# ---------------------------------------------------------------- one phase, both paths
def phase_corpus(corpus, phase: str, records: int):
    """The corpus with only ``phase``'s parts (first ``records`` of each)."""
    keep = {
        "verbmem_f": ("verbmem_forget",),
        "knowmem_f": ("knowmem_forget_qa", "knowmem_forget_qa_icl"),
        "knowmem_r": ("knowmem_retain_qa", "knowmem_retain_qa_icl"),
        "privleak": ("privleak_forget", "privleak_retain", "privleak_holdout"),
    }[phase]
    parts = (
        "verbmem_forget",
        "knowmem_forget_qa",
        "knowmem_forget_qa_icl",
        "knowmem_retain_qa",
        "knowmem_retain_qa_icl",
        "privleak_forget",
        "privleak_retain",
        "privleak_holdout",
    )
    return dataclasses.replace(
        corpus,
        **{
            p: (list(getattr(corpus, p)) if p.endswith("_icl") else list(getattr(corpus, p))[:records])
            if p in keep
            else []
            for p in parts
        },
    )


def _timed(fn):
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - start, time.process_time() - cpu


def run_phase(model, tokenizer, corpus, settings, phase: str, original_first: bool) -> dict:
    from musebench.evaluate import evaluate

    original, _ = _original_scorer()
    runs = {}
    order = ("original", "musebench") if original_first else ("musebench", "original")
    for path in order:
        if path == "original":
            runs[path] = _timed(lambda: original(model, tokenizer, corpus, settings))
        else:
            runs[path] = _timed(
                lambda: evaluate(
                    model, tokenizer, corpus, settings, metrics=[phase], retrain_auc="news", progress=False
                )
            )
    slow, fast = runs["original"][0], runs["musebench"][0]
    group = "logprobs-privleak" if phase == "privleak" else f"generate-{phase}"
    entry = {
        "original_s": runs["original"][1],
        "original_cpu_s": runs["original"][2],
        "musebench_s": runs["musebench"][1],
        "musebench_cpu_s": runs["musebench"][2],
        "model_work_s": fast.provenance["timing_s"].get(group, 0.0),
    }
    if phase == "privleak":
        worst, same_auc = 0.0, fast.scores["auc"] == slow["scores"]["auc"]
        for split in ("forget", "holdout"):
            got = [r["scores"] for r in fast.per_example if r.get("split") == split]
            for a, b in zip(slow["privacy"][split], got):
                a = a.get("scores", a)
                worst = max(worst, abs(a["mink_40"] - b["mink_40"]), abs(a["nll"] - b["nll"]))
        entry.update(identical=bool(same_auc and worst < 1e-4), max_abs_diff=worst, auc=fast.scores["auc"])
    else:
        outputs = [r["output"] for r in fast.per_example if r["criterion"] == phase]
        entry.update(
            identical=outputs == slow["outputs"][phase] and fast.scores[phase] == slow["scores"][phase],
            score=fast.scores[phase],
            new_tokens=[r["output_tokens"] for r in fast.per_example if r["criterion"] == phase],
        )
    return entry


def workload_tokens(tokenizer, corpus, settings, new_tokens: dict) -> dict:
    """Token counts of the least-work model: prompt lengths, shared few-shot prefix, new tokens per row."""
    from musebench.evaluate.generation import common_prefix_length
    from musebench.evaluate.tasks import knowmem_prompt, select_shots

    def enc(texts):
        return [list(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]]

    work = {
        "verbmem_f": {
            "prompts": [len(p) for p in enc([r.prompt for r in corpus.verbmem_forget])],
            "new": new_tokens["verbmem_f"],
        }
    }
    for crit, qa, icl in (
        ("knowmem_f", corpus.knowmem_forget_qa, corpus.knowmem_forget_qa_icl),
        ("knowmem_r", corpus.knowmem_retain_qa, corpus.knowmem_retain_qa_icl),
    ):
        prompts = enc([knowmem_prompt(p.question, select_shots(icl, settings.knowmem_num_shots)) for p in qa])
        work[crit] = {
            "prompts": [len(p) for p in prompts],
            "shared": common_prefix_length(prompts),
            "new": new_tokens[crit],
        }
    texts = corpus.privleak_forget + corpus.privleak_holdout
    work["privleak"] = {"texts": [len(ids) for ids in enc(texts)]}
    return work


def benchmark(model, tokenizer, corpus, settings, records: int, device: torch.device) -> dict:
    """Every phase on the first ``records`` records of each part, both paths, plus the roofline."""
    rates = measure_rates(device, next(model.parameters()).dtype)
    phases, new_tokens = {}, {}
    for i, phase in enumerate(PHASES):
        sub = phase_corpus(corpus, phase, records)
        phases[phase] = run_phase(model, tokenizer, sub, settings, phase, original_first=i % 2 == 0)
        new_tokens[phase] = phases[phase].get("new_tokens")
        p = phases[phase]
        print(
            f"[{phase}] original {p['original_s']:.1f} s ({p['original_cpu_s']:.1f} CPU s), musebench "
            f"{p['musebench_s']:.1f} s ({p['musebench_cpu_s']:.1f} CPU s; model work {p['model_work_s']:.1f} s), "
            f"identical: {p['identical']}",
            file=sys.stderr,
            flush=True,
        )
    sub = dataclasses.replace(
        phase_corpus(corpus, "verbmem_f", records),
        **{
            p: getattr(phase_corpus(corpus, ph, records), p)
            for ph, ps in (
                ("knowmem_f", ("knowmem_forget_qa", "knowmem_forget_qa_icl")),
                ("knowmem_r", ("knowmem_retain_qa", "knowmem_retain_qa_icl")),
                ("privleak", ("privleak_forget", "privleak_holdout")),
            )
            for p in ps
        },
    )
    work = workload_tokens(tokenizer, sub, settings, new_tokens)
    limits = phase_limits(Shape.of(model), work, rates)
    for phase, (flops, nbytes, seconds) in limits.items():
        phases[phase].update(
            flops=flops, bytes=nbytes, limit_s=seconds, fraction=seconds / max(phases[phase]["model_work_s"], 1e-9)
        )
        phases[phase].pop("new_tokens", None)
    return {
        "rates": rates,
        "phases": phases,
        "work": {k: {kk: (sum(vv) if isinstance(vv, list) else vv) for kk, vv in v.items()} for k, v in work.items()},
        "oracle": _original_scorer()[1],
        "records": records,
    }


def scaling(model, tokenizer, corpus, settings, counts, lengths) -> dict:
    """musebench's PrivLeak time vs number of texts per split (at full length) and vs text length."""
    from musebench.evaluate import evaluate

    def run(n, length):
        sub = dataclasses.replace(phase_corpus(corpus, "privleak", n), privleak_retain=[])
        s = dataclasses.replace(settings, privleak_max_length=length)
        _, wall, _ = _timed(lambda: evaluate(model, tokenizer, sub, s, metrics=["privleak"], progress=False))
        return wall

    full = max(lengths)
    by_count = [(n, run(n, full)) for n in counts]
    by_length = [(n, run(max(counts), n)) for n in lengths]
    return {
        "by_count": by_count,
        "by_length": by_length,
        "count_fit": np.polyfit(*zip(*by_count), 1).tolist(),
        "length_fit": np.polyfit(*zip(*by_length), 1).tolist(),
        "count_exponent": float(np.polyfit(np.log([c for c, _ in by_count]), np.log([t for _, t in by_count]), 1)[0]),
        "length_exponent": float(
            np.polyfit(np.log([c for c, _ in by_length]), np.log([t for _, t in by_length]), 1)[0]
        ),
    }


def markdown(result: dict, title: str) -> str:
    rates, phases = result["rates"], result["phases"]
    lines = [
        f"### {title}",
        "",
        f"machine rates (measured): GEMM {rates['matmul_flops'] / 1e9:,.0f} GFLOP/s, copy bandwidth "
        f"{rates['bandwidth'] / 1e9:,.1f} GB/s; original algorithm = {result['oracle']}; "
        f"{result['records']} records per part",
        "",
        "| phase | original s (CPU s) | musebench s (CPU s) | speed-up wall (CPU) | least work: GFLOP / MB | "
        "limit (s) | musebench model work (s) | fraction of roofline | identical |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    tot_o = tot_m = cpu_o = cpu_m = 0.0
    for name, p in phases.items():
        tot_o, tot_m = tot_o + p["original_s"], tot_m + p["musebench_s"]
        cpu_o, cpu_m = cpu_o + p["original_cpu_s"], cpu_m + p["musebench_cpu_s"]
        same = "yes" if p["identical"] else "NO"
        if "max_abs_diff" in p:
            same += f" (AUC equal, Min-40% within {p['max_abs_diff']:.1e})"
        lines.append(
            f"| {name} | {p['original_s']:.1f} ({p['original_cpu_s']:.1f}) | {p['musebench_s']:.1f} "
            f"({p['musebench_cpu_s']:.1f}) | {p['original_s'] / p['musebench_s']:.1f}x "
            f"({p['original_cpu_s'] / p['musebench_cpu_s']:.1f}x) | {p['flops'] / 1e9:,.0f} / {p['bytes'] / 1e6:,.0f} | "
            f"{p['limit_s']:.2f} | {p['model_work_s']:.2f} | {p['fraction'] * 100:.0f} % | {same} |"
        )
    lines.append(
        f"| **whole evaluation** | {tot_o:.1f} ({cpu_o:.1f}) | {tot_m:.1f} ({cpu_m:.1f}) | "
        f"**{tot_o / tot_m:.1f}x** ({cpu_o / cpu_m:.1f}x) | | | | | |"
    )
    if "cli" in result:
        c = result["cli"]
        lines += [
            "",
            f"`musebench eval` as a fresh process on the same work: {c['process_s']:.1f} s wall "
            f"(start-up {c['startup_s']:.1f} s: imports, model and corpus load; evaluation {c['eval_s']:.1f} s); "
            f"original algorithm in-process {tot_o:.1f} s: **{tot_o / c['process_s']:.1f}x counting start-up**",
        ]
    return "\n".join(lines)


def scaling_markdown(s: dict) -> str:
    lines = ["| privacy texts per split (2 splits, full length) | musebench PrivLeak wall (s) |", "|---:|---:|"]
    lines += [f"| {n} | {t:.2f} |" for n, t in s["by_count"]]
    lines += [
        "",
        f"fit: {s['count_fit'][0]:.3f} s per text-pair + {s['count_fit'][1]:.2f} s; "
        f"log-log slope {s['count_exponent']:.2f}",
        "",
        "| text length (tokens, BOS counted) | musebench PrivLeak wall (s) |",
        "|---:|---:|",
    ]
    lines += [f"| {n} | {t:.2f} |" for n, t in s["by_length"]]
    lines += [
        "",
        f"fit: {s['length_fit'][0] * 1000:.3f} ms per token of length + {s['length_fit'][1]:.2f} s; "
        f"log-log slope {s['length_exponent']:.2f}",
    ]
    return "\n".join(lines)


def to_json(result: dict) -> str:
    return json.dumps(result, indent=1, default=float)


# ---------------------------------------------------------------- start-up of a `musebench eval` process
def cli_process(model_dir, corpus, settings_overrides: dict, threads: int, work) -> dict:
    """Wall time of ``musebench eval`` as a fresh process on ``corpus``, and of the same process on a
    one-text corpus (its start-up: imports, model and corpus load, writing the result)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from musebench.data.layout import save_corpus

    work = Path(work)

    def run(sub, name):
        data = save_corpus(sub, work / name)
        cmd = [
            sys.executable,
            "-m",
            "musebench.cli",
            "eval",
            "--model",
            str(model_dir),
            "--data",
            str(data),
            "--out",
            str(work / f"{name}-out"),
            "--retrain-auc",
            "news",
            "--no-progress",
            "--threads",
            str(threads),
            *sum(([f"--{k.replace('_', '-')}", str(v)] for k, v in settings_overrides.items()), []),
        ]
        start = time.perf_counter()
        subprocess.run(
            cmd,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        return time.perf_counter() - start

    whole = run(corpus, "cli-full")
    tiny = dataclasses.replace(
        corpus,
        verbmem_forget=corpus.verbmem_forget[:1],
        knowmem_forget_qa=[],
        knowmem_retain_qa=[],
        privleak_forget=[corpus.privleak_forget[0][:200]],
        privleak_retain=[],
        privleak_holdout=[corpus.privleak_holdout[0][:200]],
    )
    tiny = dataclasses.replace(
        tiny, verbmem_forget=[dataclasses.replace(tiny.verbmem_forget[0], prompt=tiny.verbmem_forget[0].prompt[:200])]
    )
    startup = run(tiny, "cli-startup")
    return {"process_s": whole, "startup_s": startup, "eval_s": whole - startup}


def main(args) -> int:
    """``eval_speed.py --workload muse-shaped``: the tables of benchmarks/muse_shaped.md."""
    import tempfile
    from pathlib import Path

    import muse_shaped

    from musebench.data import load_corpus
    from musebench.evaluate import EvalSettings
    from musebench.models.loading import load_model

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    data, model_dir = muse_shaped.ensure(work, "small")
    lm = load_model(model_dir)
    corpus = load_corpus(data)
    settings = EvalSettings(bootstrap_samples=1000)
    from eval_speed import warm_imports

    warm_imports()  # rouge_score / sklearn modules loaded before any clock starts
    title = (
        f"MUSE-shaped workload, small Llama ({sum(p.numel() for p in lm.model.parameters()) / 1e6:.1f}M "
        f"params, vocab {len(lm.tokenizer)}), {args.threads} torch threads"
    )
    out = {}
    if not args.scaling_only:
        result = benchmark(lm.model, lm.tokenizer, corpus, settings, args.records, torch.device("cpu"))
        sub = phase_corpus(corpus, "verbmem_f", args.records)
        sub = dataclasses.replace(
            sub,
            **{
                p: list(getattr(corpus, p))[: args.records]
                for p in ("knowmem_forget_qa", "knowmem_retain_qa", "privleak_forget", "privleak_holdout")
            },
            knowmem_forget_qa_icl=corpus.knowmem_forget_qa_icl,
            knowmem_retain_qa_icl=corpus.knowmem_retain_qa_icl,
        )
        with tempfile.TemporaryDirectory() as tmp:
            result["cli"] = cli_process(model_dir, sub, {}, args.threads, tmp)
        out["speed"] = result
        print(markdown(result, title))
    if args.scaling or args.scaling_only:
        counts = tuple(int(c) for c in args.scaling_counts.split(","))
        lengths = tuple(int(n) for n in args.scaling_lengths.split(","))
        s = scaling(lm.model, lm.tokenizer, corpus, settings, counts=counts, lengths=lengths)
        out["scaling"] = s
        print()
        print(scaling_markdown(s))
    if args.json:
        Path(args.json).write_text(to_json(out))
    speed = out.get("speed")
    return 0 if speed is None or all(p["identical"] for p in speed["phases"].values()) else 1
