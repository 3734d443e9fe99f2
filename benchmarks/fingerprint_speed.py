"""What naming a large model costs before each evaluation: the old state-dict hash vs weight-file fingerprints.

Builds a random Llama of about 1.8 GB of float32 safetensors (``--layers``, ``--hidden``), then, each in a
fresh process, loads it and times (a) the previous fingerprint (every tensor copied to host bytes and
hashed), (b) today's fallback for a model that no longer equals its files (tensors hashed in place), (c)
the weight-file fingerprint the first time (a streamed SHA-256 of the files), (d) the same in the same
process again, (e) in a new process, which finds the hashes remembered by size and mtime. Prints a
Markdown table.

    python benchmarks/fingerprint_speed.py              # ~1.8 GB model in a temporary directory
    python benchmarks/fingerprint_speed.py --layers 2   # smaller
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def legacy_fingerprint(model, length: int = 16) -> str:
    """The fingerprint musebench computed before weight-file fingerprints (kept here to time it)."""
    import torch

    h = hashlib.sha256(type(model).__name__.encode())
    scalars = {
        k: v
        for k, v in vars(model).items()
        if not k.startswith("_") and k != "training" and isinstance(v, (bool, int, float, str))
    }
    h.update(repr(sorted(scalars.items())).encode())
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            t = tensor.detach().contiguous().cpu()
            h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:length]


def build(out: Path, layers: int, hidden: int) -> int:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=32000,
        hidden_size=hidden,
        intermediate_size=int(hidden * 2.6875),
        num_hidden_layers=layers,
        num_attention_heads=hidden // 128,
        num_key_value_heads=hidden // 128,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)
    return sum(f.stat().st_size for f in out.glob("*.safetensors"))


def measure(model_dir: str, what: str) -> dict:
    """Run in a child process: load the model, time the fingerprint(s) named by ``what``."""
    import torch
    from transformers import AutoModelForCausalLM

    from musebench.evaluate.fingerprint import model_fingerprint
    from musebench.models.weight_files import mark_weights_source

    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, use_safetensors=True)
    times = {}
    if what == "cold":
        start = time.perf_counter()
        legacy_fingerprint(model)
        times["legacy"] = time.perf_counter() - start
        start = time.perf_counter()
        model_fingerprint(model)  # not marked: the in-place tensor hash
        times["tensors"] = time.perf_counter() - start
    start = time.perf_counter()
    mark_weights_source(model, model_dir)
    model_fingerprint(model)
    times["files"] = time.perf_counter() - start
    start = time.perf_counter()
    mark_weights_source(model, model_dir)
    model_fingerprint(model)
    times["files_again"] = time.perf_counter() - start
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--hidden", type=int, default=2048)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        env = {**os.environ, "MUSEBENCH_CACHE": str(Path(tmp) / "cache"), "OMP_NUM_THREADS": "1"}
        size = build(model_dir, args.layers, args.hidden)

        def child(what: str) -> dict:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(model_dir), what],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            return json.loads(out.stdout.strip().splitlines()[-1])

        first, second = child("cold"), child("warm")
        rows = [
            ("previous: state dict copied to bytes and hashed", first["legacy"]),
            ("fallback now (model changed since load): tensors hashed in place", first["tensors"]),
            ("weight files, first time (streamed SHA-256)", first["files"]),
            ("weight files, same process again", first["files_again"]),
            ("weight files, new process (remembered by size + mtime)", second["files"]),
        ]
        print(f"model: random Llama, {args.layers} layers x {args.hidden}, {size / 1e9:.2f} GB float32 safetensors\n")
        print("| fingerprint | seconds | vs previous |")
        print("|---|---:|---:|")
        for name, seconds in rows:
            print(f"| {name} | {seconds:.4f} | {first['legacy'] / max(seconds, 1e-9):,.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
