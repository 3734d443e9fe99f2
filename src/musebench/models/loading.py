"""Load a causal LM and its tokenizer from a local directory or a hub name, safely.

Rules: weights only from safetensors; ``trust_remote_code`` only when the user asks; a pad token distinct
from EOS (one is added when the tokenizer has none, and the embeddings are resized); left padding for
generation. Every failure becomes a ``ModelError`` that names the directory and what is missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from musebench.errors import ModelError

PAD_TOKEN = "<pad>"


@dataclass
class LoadedModel:
    model: object  # transformers PreTrainedModel
    tokenizer: object  # transformers PreTrainedTokenizerBase
    name: str  # the path or hub name it came from


def check_model_dir(path: Path) -> None:
    """Fail with a clear message when a local directory cannot hold a model."""
    if not path.is_dir():
        raise ModelError("model directory does not exist", file=path)
    if not (path / "config.json").is_file():
        raise ModelError("not a Hugging Face model directory: config.json is missing", file=path)
    weights = list(path.glob("*.safetensors")) + list(path.glob("*.safetensors.index.json"))
    if not weights:
        if list(path.glob("*.bin")) or list(path.glob("*.pt")):
            raise ModelError("only pickle weights (.bin/.pt) found; musebench loads safetensors only "
                             "(convert with `model.save_pretrained(dir, safe_serialization=True)`)", file=path)
        raise ModelError("no model weights (*.safetensors) in directory", file=path)


def ensure_pad_token(tokenizer, model=None) -> None:
    """Give the tokenizer a pad token that is not EOS; resize the model's embeddings if one was added."""
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        tokenizer.add_special_tokens({"pad_token": PAD_TOKEN})
        if model is not None and model.get_input_embeddings().weight.shape[0] < len(tokenizer):
            model.resize_token_embeddings(len(tokenizer))
    if model is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.pad_token_id = tokenizer.pad_token_id


def load_tokenizer(name_or_path: str | Path, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot load tokenizer: {first_line(err)}", file=name_or_path) from err
    tok.padding_side = "left"
    return tok


def load_model(
    name_or_path: str | Path,
    device: str = "cpu",
    dtype=None,
    trust_remote_code: bool = False,
    tokenizer_path: str | Path | None = None,
) -> LoadedModel:
    """Load ``AutoModelForCausalLM`` + tokenizer in eval mode on ``device``."""
    import torch
    from transformers import AutoModelForCausalLM

    path = Path(name_or_path)
    is_local = path.exists() or str(name_or_path).startswith((".", "/")) or os.sep in str(name_or_path) and \
        str(name_or_path).count("/") != 1
    if is_local:
        check_model_dir(path)
    tokenizer = load_tokenizer(tokenizer_path or name_or_path, trust_remote_code=trust_remote_code)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(name_or_path),
            dtype=dtype or torch.float32,
            use_safetensors=True,
            trust_remote_code=trust_remote_code,
        )
    except ValueError as err:
        msg = first_line(err)
        if "trust_remote_code" in msg:
            raise ModelError("this model needs custom code; re-run with --trust-remote-code if you trust it",
                             file=name_or_path) from err
        raise ModelError(f"cannot load model: {msg}", file=name_or_path) from err
    except OSError as err:
        raise ModelError(f"cannot load model: {first_line(err)}", file=name_or_path) from err
    ensure_pad_token(tokenizer, model)
    model.to(device)
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, name=str(name_or_path))


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
