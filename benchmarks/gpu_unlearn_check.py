"""GPU check, unlearning section: NPO_KLR with its reference model under FSDP, then the evaluation of the result.

Run by ``benchmarks/gpu_check.sh`` (which runs every ``benchmarks/gpu_*_check.py``), or alone:

    python benchmarks/gpu_unlearn_check.py                  # one GPU, <= 3 minutes
    python benchmarks/gpu_unlearn_check.py --rates-out rates.json   # also the measured rates for `musebench plan`
    python benchmarks/gpu_unlearn_check.py --launch fsdp1   # FSDP1 (sync_module_states); --launch zero3: ZeRO-3
    python benchmarks/gpu_unlearn_check.py --dry-run-cpu    # the same steps on CPU with a tiny model, no FSDP

On a GPU: a random 1B-class Llama (hidden 2048, 16 layers, 32k vocabulary; bf16 safetensors) on the tiny
news-mini corpus; ``accelerate launch`` with an FSDP2 config (or FSDP1 / ZeRO-3 with ``--launch``; one process:
the same wrapping path as many, RAM-efficient loading on under FSDP) runs ``musebench unlearn --method npo_klr``
for one epoch of a few steps; the check requires ``run.json`` to say FSDP (DEEPSPEED), the reference to be sharded on the GPU, every loss finite; then
``musebench eval`` scores ``epoch-1`` on the GPU. Prints a table and exits 1 on any failed requirement.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_S = 180
COMMON = """\
compute_environment: LOCAL_MACHINE
num_processes: 1
num_machines: 1
machine_rank: 0
mixed_precision: bf16
rdzv_backend: static
same_network: true
use_cpu: false
"""
FSDP = """\
distributed_type: FSDP
fsdp_config:
  fsdp_version: {version}
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_transformer_layer_cls_to_wrap: LlamaDecoderLayer
  fsdp_state_dict_type: FULL_STATE_DICT
  fsdp_cpu_ram_efficient_loading: true
  fsdp_offload_params: false
{extra}"""
# one process, one GPU: the wrapping path of many (FSDP2 by default; FSDP1 and ZeRO-3 with --launch)
LAUNCH_CONFIGS = {
    "fsdp2": COMMON + FSDP.format(version=2, extra="  fsdp_reshard_after_forward: true\n"),
    "fsdp1": COMMON + FSDP.format(version=1, extra="  fsdp_sync_module_states: true\n  fsdp_use_orig_params: true\n"),
    "zero3": COMMON
    + """\
distributed_type: DEEPSPEED
deepspeed_config:
  zero_stage: 3
  zero3_init_flag: true
  zero3_save_16bit_model: true
  offload_optimizer_device: none
  offload_param_device: none
""",
}
DISTRIBUTED = {"fsdp2": "FSDP", "fsdp1": "FSDP", "zero3": "DEEPSPEED"}


def build_model(out: Path, data: Path, gpu: bool) -> int:
    """A random Llama with the corpus's tokenizer: 1B-class on GPU, 2 layers x 64 for the CPU dry run."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(str(data / "tokenizer"))
    shape = (
        {
            "hidden_size": 2048,
            "intermediate_size": 5632,
            "num_hidden_layers": 16,
            "num_attention_heads": 16,
            "num_key_value_heads": 16,
        }
        if gpu
        else {
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
        }
    )
    config = LlamaConfig(
        vocab_size=32000 if gpu else max(len(tok), 512),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
        max_position_embeddings=2048,
        **shape,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16 if gpu else torch.float32)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def run(cmd: list[str], env: dict, log: Path, timeout: float) -> float:
    start = time.perf_counter()
    with open(log, "w") as fh:
        done = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    if done.returncode != 0:
        print(log.read_text()[-3000:], file=sys.stderr)
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd[:6])} ... (log {log})")
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dry-run-cpu", action="store_true", help="tiny model on CPU, no FSDP: checks the script's logic")
    p.add_argument("--rates-out", help="write the measured per-GPU rates (JSON) for `musebench plan --rates`")
    p.add_argument("--work", help="working directory (default: a temporary one)")
    p.add_argument(
        "--launch",
        choices=sorted(LAUNCH_CONFIGS),
        default="fsdp2",
        help="how the one GPU process is launched (zero3 needs deepspeed installed)",
    )
    args = p.parse_args()
    import torch

    gpu = not args.dry_run_cpu
    if gpu and not torch.cuda.is_available():
        print("gpu_unlearn_check: no GPU visible to torch; nothing run (use --dry-run-cpu to check the logic)")
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "MUSEBENCH_CACHE": str(work / "cache"),
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        }
        cli = [sys.executable, "-m", "musebench.cli"]
        from musebench.models.mini_corpus import write_mini_corpus as write_corpus

        data = Path(write_corpus("news-mini", "tiny", 0, work / "data"))
        params = build_model(work / "model", data, gpu)
        build_s = time.perf_counter() - started
        unlearn_args = [
            "unlearn",
            "--model",
            str(work / "model"),
            "--data",
            str(data),
            "--method",
            "npo_klr",
            "--num_train_epochs",
            "1",
            "--learning_rate",
            "1e-5",
            "--per_device_train_batch_size",
            "2",
            "--max_len",
            "512" if gpu else "64",
            "--out",
            str(work / "run"),
        ]
        if gpu:
            config = work / f"{args.launch}.yaml"
            config.write_text(LAUNCH_CONFIGS[args.launch])
            launch = [
                sys.executable,
                "-m",
                "accelerate.commands.launch",
                "--config_file",
                str(config),
                "--num_processes",
                "1",
                "-m",
                "musebench.cli",
            ]
            unlearn_s = run(launch + unlearn_args + ["--dtype", "bfloat16"], env, work / "unlearn.log", BUDGET_S)
        else:
            unlearn_s = run(cli + unlearn_args + ["--use_cpu", "--threads", "1"], env, work / "unlearn.log", BUDGET_S)
        record = json.loads((work / "run" / "run.json").read_text())
        eval_args = [
            "eval",
            "--model",
            str(work / "run" / "epoch-1"),
            "--data",
            str(data),
            "--retrain-auc",
            "news",
            "--out",
            str(work / "eval"),
            "--no-progress",
        ]
        eval_s = run(
            cli + eval_args + (["--device", "cuda"] if gpu else ["--device", "cpu", "--threads", "1"]),
            env,
            work / "eval.log",
            BUDGET_S,
        )
        summary = json.loads((work / "eval" / "summary.json").read_text())
        total_s = time.perf_counter() - started

        steps = record["history"]["steps"]
        losses = [s["loss"] for s in steps if "loss" in s]
        ref = record["data"].get("reference") or {}
        checks = {
            f"distributed {DISTRIBUTED[args.launch]}" if gpu else "distributed NO (dry run)": record["data"][
                "distributed"
            ]
            == (DISTRIBUTED[args.launch] if gpu else "NO"),
            "reference sharded on the GPU" if gpu else "reference present": (
                ref.get("sharded") and str(ref.get("device", "")).startswith("cuda")
            )
            if gpu
            else bool(ref),
            "losses finite": bool(losses) and all(math.isfinite(v) for v in losses),
            "epoch-1 evaluated": all(k in summary["scores"] for k in ("verbmem_f", "knowmem_f", "knowmem_r")),
            f"total <= {BUDGET_S} s": total_s <= BUDGET_S or not gpu,
        }
        tokens = record["data"]["forget_tokens"]
        train_tok_s = 2 * tokens / max(unlearn_s, 1e-9)  # forget + retain tokens of the epoch, start-up included
        print(
            f"gpu_unlearn_check ({'GPU: ' + torch.cuda.get_device_name(0) if gpu else 'CPU dry run'}): "
            f"random Llama {params / 1e9:.2f}B, NPO_KLR, {len(losses)} logged steps"
            f"{', launch ' + args.launch if gpu else ''}\n"
        )
        print("| step | seconds |\n|---|---:|")
        for name, secs in (
            ("corpus + model build", build_s),
            ("unlearn (launch included)", unlearn_s),
            ("eval of epoch-1", eval_s),
            ("total", total_s),
        ):
            print(f"| {name} | {secs:.1f} |")
        print("\n| check | result |\n|---|---|")
        for name, ok in checks.items():
            print(f"| {name} | {'ok' if ok else 'FAILED'} |")
        print(
            f"\nreference: {ref}; scores: { {k: round(v, 2) for k, v in summary['scores'].items() if v is not None} }"
        )
        if args.rates_out:
            # NPO_KLR does 8 forward-equivalents per forget token (plan.FORWARDS_PER_TOKEN); a lower bound, as
            # the time includes the launch and the model load
            rates = {
                "flops_per_s": 8 * 2 * params * tokens / max(unlearn_s, 1e-9),
                "measured_train_tokens_per_s": train_tok_s,
                "device": torch.cuda.get_device_name(0) if gpu else "cpu",
                "params": params,
            }
            Path(args.rates_out).write_text(json.dumps(rates, indent=2) + "\n")
            print(f"rates written to {args.rates_out}: {rates}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
