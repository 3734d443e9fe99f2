"""The quantization attack: load a model through transformers' ``BitsAndBytesConfig`` and evaluate it as is.

Zhang et al. (ICLR 2025, "Catastrophic Failure of LLM Unlearning via Quantization") observe that unlearning
with a small learning rate moves weights less than one quantization step, so rounding the unlearned and the
target model lands both on (nearly) the same grid point and the forgotten knowledge reappears. bitsandbytes
is the library they used; its CPU backend runs all three schemes here (``pip install musebench[quant]``).
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from musebench.errors import ConfigError, ModelError

Scheme = Literal["int8", "nf4", "fp4"]  # the names of SCHEMES, as a type for flags and the experiment file
#: scheme -> (bits, bitsandbytes 4-bit type or None for LLM.int8()).
SCHEMES: dict[str, tuple[int, str | None]] = {"int8": (8, None), "nf4": (4, "nf4"), "fp4": (4, "fp4")}


@dataclass(frozen=True)
class QuantizeAttack:
    """What ``musebench attack quantize`` takes (its ``--scheme`` flag) and the registry's default scheme."""

    scheme: Scheme = field(default="nf4", metadata={"help": "bitsandbytes scheme: int8, nf4 or fp4"})


def quantization_config(scheme: str, compute_dtype=None):
    """The ``BitsAndBytesConfig`` of ``scheme``; 4-bit layers compute in ``compute_dtype`` (float32 on CPU)."""
    import torch
    from transformers import BitsAndBytesConfig

    if scheme not in SCHEMES:
        raise ConfigError(
            f"unknown quantization scheme; expected one of {', '.join(SCHEMES)}", field="--scheme", value=scheme
        )
    bits, kind = SCHEMES[scheme]
    if bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type=kind, bnb_4bit_compute_dtype=compute_dtype or torch.float32
    )


def check_scheme(scheme: str, device: str) -> None:
    """Fail before anything is loaded or written when bitsandbytes cannot run ``scheme`` on ``device``."""
    if scheme not in SCHEMES:
        raise ConfigError(
            f"unknown quantization scheme; expected one of {', '.join(SCHEMES)}", field="--scheme", value=scheme
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError(
            "the quantization attack needs bitsandbytes: pip install 'musebench[quant]'", field="--scheme", value=scheme
        )
    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ConfigError(
            f"bitsandbytes cannot run {scheme} on device '{device}' (it supports cpu and cuda)",
            field="--scheme",
            value=scheme,
        )
    if kind == "cpu":
        import logging

        # without the optional `kernels` package bitsandbytes logs a warning at import and uses its own
        # CPU 4-bit path instead (slower, not wrong)
        logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
        import bitsandbytes
        from packaging.version import Version

        if Version(bitsandbytes.__version__) < Version("0.48"):
            raise ConfigError(
                f"bitsandbytes {bitsandbytes.__version__} has no CPU backend for {scheme}; "
                "upgrade to >= 0.48 or use --device cuda",
                field="--scheme",
                value=scheme,
            )


def _load_quantized_causal_lm(path: str | Path, scheme: str, device: str):
    import torch
    from transformers import AutoModelForCausalLM

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*MatMul8bitLt.*")
            model = AutoModelForCausalLM.from_pretrained(
                str(path),
                quantization_config=quantization_config(scheme),
                device_map=device,
                dtype=torch.float32 if device == "cpu" else torch.bfloat16,
                use_safetensors=True,
            )
    except (OSError, ValueError, RuntimeError, ImportError) as err:
        text = str(err).strip().splitlines()
        raise ModelError(
            f"cannot load the model quantized as {scheme}: {text[0] if text else type(err).__name__}", file=path
        ) from err
    return model.eval()


def load_quantized(path: str | Path, scheme: str, device: str = "cpu"):
    """A ``LoadedModel`` quantized with ``scheme``; a WHP checkpoint quantizes both of its models."""
    from musebench.models.loading import LoadedModel, check_model_dir, check_vocabulary, load_tokenizer

    check_scheme(scheme, device)
    path = Path(path)
    if (path / "whp.json").is_file():
        return _load_whp_quantized(path, scheme, device)
    if (path / "uld.json").is_file():
        return _load_uld_quantized(path, scheme, device)
    check_model_dir(path)
    tokenizer = load_tokenizer(path)
    model = _load_quantized_causal_lm(path, scheme, device)
    check_vocabulary(tokenizer, model, path)  # as load_model: pads are any embedded id under the mask
    return LoadedModel(model=model, tokenizer=tokenizer, name=f"{path} ({scheme})")


def _load_whp_quantized(path: Path, scheme: str, device: str):
    from musebench.models.loading import LoadedModel, check_model_dir, load_tokenizer
    from musebench.unlearn.edit.whp import WHPModel, read_whp_checkpoint

    target_path, finetuned_path, alpha = read_whp_checkpoint(path)
    for p in (target_path, finetuned_path):
        check_model_dir(Path(p))
    target = _load_quantized_causal_lm(target_path, scheme, device)
    finetuned = _load_quantized_causal_lm(finetuned_path, scheme, device)
    rows = (target.get_input_embeddings().weight.shape[0], finetuned.get_input_embeddings().weight.shape[0])
    if rows[0] != rows[1]:
        raise ModelError(
            f"cannot quantize a WHP checkpoint whose two models differ in vocabulary size {rows}", file=path
        )
    return LoadedModel(
        model=WHPModel(target, finetuned, alpha).eval(),
        tokenizer=load_tokenizer(finetuned_path),
        name=f"{path} ({scheme})",
    )


def _load_uld_quantized(path: Path, scheme: str, device: str):
    """A ULD checkpoint with both of its models (target and assistant) quantized."""
    from musebench.models.loading import LoadedModel, check_model_dir, load_tokenizer
    from musebench.unlearn.edit.uld import read_uld_checkpoint
    from musebench.unlearn.edit.uld_model import ULDModel

    target_path, assistant_path, alpha = read_uld_checkpoint(path)
    for p in (target_path, assistant_path):
        check_model_dir(Path(p))
    target = _load_quantized_causal_lm(target_path, scheme, device)
    assistant = _load_quantized_causal_lm(assistant_path, scheme, device)
    return LoadedModel(
        model=ULDModel(target, assistant, alpha).eval(),
        tokenizer=load_tokenizer(target_path),
        name=f"{path} ({scheme})",
    )
