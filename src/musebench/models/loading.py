"""Load a causal LM and its tokenizer from a local directory or a hub name, safely.

Rules: weights only from safetensors; ``trust_remote_code`` only when the user asks; left padding for
generation. Every failure becomes a ``ModelError`` that names the directory and what is missing.

Pad tokens: the model is never changed for padding. A tokenizer without a pad token (Llama-2's) gets no new
embedding row (a random row would change the model, its fingerprint and every checkpoint's vocabulary size).
Every pad position is masked (attention mask 0 or causally unseen, label -100), so its id only has to exist in
the embedding matrix: :func:`padding_id` picks the tokenizer's own pad when the model has a row for it, else
EOS, BOS or UNK. :func:`check_vocabulary` turns a tokenizer that can produce ids the model has no row for into
one ``ModelError`` instead of an ``IndexError`` deep inside the embedding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from musebench.errors import ModelError
from musebench.models.weight_files import mark_weights_source


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
            raise ModelError(
                "only pickle weights (.bin/.pt) found; musebench loads safetensors only "
                "(convert with `model.save_pretrained(dir, safe_serialization=True)`)",
                file=path,
            )
        raise ModelError("no model weights (*.safetensors) in directory", file=path)
    for index in path.glob("*.safetensors.index.json"):
        check_shard_index(index)


def check_shard_index(index: Path) -> None:
    """A shard index must name safetensors files beside it: a pickle (``.bin``) or a path elsewhere is
    refused before the loader would open it."""
    import json

    try:
        doc = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise ModelError(f"unreadable shard index ({type(err).__name__})", file=index) from None
    weight_map = doc.get("weight_map") if isinstance(doc, dict) else None
    if not isinstance(weight_map, dict):
        raise ModelError("shard index has no 'weight_map' mapping", file=index)
    for shard in sorted({v for v in weight_map.values()}, key=str):
        if not isinstance(shard, str) or not shard.endswith(".safetensors") or Path(shard).name != shard:
            raise ModelError(
                "shard index names a file that is not a safetensors file beside it; musebench loads safetensors only",
                file=index,
                value=shard,
            )


def embedding_rows(model) -> int | None:
    """Rows of the model's input embedding matrix (the ids it can embed), or None when it cannot be told."""
    get = getattr(model, "get_input_embeddings", None)
    if callable(get):
        try:
            weight = getattr(get(), "weight", None)
        except (AttributeError, NotImplementedError):
            weight = None
        if weight is not None and weight.ndim == 2 and weight.shape[0] > 0:
            return int(weight.shape[0])
    vocab = getattr(getattr(model, "config", None), "vocab_size", None)
    return int(vocab) if isinstance(vocab, int) and vocab > 0 else None


def padding_id(tokenizer, model=None) -> int:
    """The id pad positions are filled with: any id the embedding holds will do, since pads are masked.

    The tokenizer's pad when the model has a row for it, else its EOS, BOS or UNK, else 0. Neither the
    tokenizer nor the model is changed.
    """
    rows = embedding_rows(model) if model is not None else None
    for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id, tokenizer.unk_token_id):
        if isinstance(token_id, int) and token_id >= 0 and (rows is None or token_id < rows):
            return token_id
    return 0


def producible_ids(tokenizer) -> dict[int, str]:
    """Id -> token of every token the tokenizer can emit when encoding text: all but a pad-only token.

    The pad token is excluded when it is nothing else (not BOS/EOS/UNK): musebench never feeds it to a
    model (see :func:`padding_id`), so a tokenizer class that brings its own pad token beyond the
    checkpoint's embedding (Qwen2's) is not a mismatch.
    """
    vocab = {int(i): tok for tok, i in tokenizer.get_vocab().items()}
    pad = tokenizer.pad_token_id
    if pad is not None and pad not in {tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id}:
        vocab.pop(int(pad), None)
    return vocab


def check_vocabulary(tokenizer, model, name: str | Path | None = None) -> None:
    """``ModelError`` when the tokenizer can produce ids the model has no embedding row for."""
    rows = embedding_rows(model)
    if rows is None:
        return
    beyond = sorted((i, tok) for i, tok in producible_ids(tokenizer).items() if i >= rows)
    if beyond:
        shown = ", ".join(f"{tok!r}={i}" for i, tok in beyond[:3]) + (" ..." if len(beyond) > 3 else "")
        raise ModelError(
            f"tokenizer and model do not match: the tokenizer can produce {len(beyond)} token id(s) "
            f"beyond the model's {rows} embedding rows ({shown}); load the tokenizer the model "
            "was trained with",
            file=name,
        )


def load_tokenizer(name_or_path: str | Path, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=trust_remote_code)
    except Exception as err:  # a damaged tokenizer or config.json, whatever the library calls it
        if not is_loading_error(err):
            raise
        raise ModelError(f"cannot load tokenizer: {first_line(err)}", file=name_or_path) from err
    tok.padding_side = "left"
    return tok


def load_model(
    name_or_path: str | Path,
    device: str = "cpu",
    dtype=None,
    trust_remote_code: bool = False,
    tokenizer_path: str | Path | None = None,
    vocabulary_check: bool = True,
) -> LoadedModel:
    """Load ``AutoModelForCausalLM`` + tokenizer in eval mode on ``device``.

    ``vocabulary_check=False`` is for a caller that pairs the model with another model's tokenizer and
    aligns the embeddings itself (Task Vector / WHP's target with θ_ft's tokenizer).
    """
    import torch
    from transformers import AutoModelForCausalLM

    path = Path(name_or_path)
    is_local = (
        path.exists()
        or str(name_or_path).startswith((".", "/"))
        or os.sep in str(name_or_path)
        and str(name_or_path).count("/") != 1
    )
    if is_local:
        check_model_dir(path)
    tokenizer = load_tokenizer(tokenizer_path or name_or_path, trust_remote_code=trust_remote_code)
    try:
        model, info = AutoModelForCausalLM.from_pretrained(
            str(name_or_path),
            dtype=dtype or torch.float32,
            use_safetensors=True,
            trust_remote_code=trust_remote_code,
            output_loading_info=True,
        )
    except ValueError as err:
        msg = first_line(err)
        if "trust_remote_code" in msg:
            raise ModelError(
                "this model needs custom code; re-run with --trust-remote-code if you trust it", file=name_or_path
            ) from err
        raise ModelError(f"cannot load model: {msg}", file=name_or_path) from err
    except (OSError, TypeError, KeyError, AttributeError, RuntimeError) as err:
        raise ModelError(f"cannot load model: {first_line(err)}", file=name_or_path) from err
    except Exception as err:  # safetensors' header errors and config validation have their own classes
        if not is_loading_error(err):
            raise
        raise ModelError(f"cannot load model: {first_line(err)}", file=name_or_path) from err
    check_loading_info(info, name_or_path)
    if vocabulary_check:
        check_vocabulary(tokenizer, model, name_or_path)
    model.eval()
    if any(p.device.type == "meta" for p in model.parameters()):
        if not weights_come_from_rank_0():
            raise ModelError("the weights were not loaded (parameters left on the meta device)", file=name_or_path)
        # RAM-efficient loading on a rank > 0: the FSDP wrapper fills them with rank 0's; no fingerprint here
        return LoadedModel(model=model, tokenizer=tokenizer, name=str(name_or_path))
    model.to(device)
    mark_weights_source(model, name_or_path)  # the model holds exactly its files' weights (never resized)
    return LoadedModel(model=model, tokenizer=tokenizer, name=str(name_or_path))


def weights_come_from_rank_0() -> bool:
    """True on a process > 0 of an FSDP launch with ``fsdp_cpu_ram_efficient_loading``: only the local rank 0
    reads weights, the others get them from it when the model is wrapped (so they may load none)."""
    flag = lambda name: os.environ.get(name, "").lower() in ("1", "true", "yes")  # noqa: E731
    return (
        flag("ACCELERATE_USE_FSDP")
        and flag("FSDP_CPU_RAM_EFFICIENT_LOADING")
        and int(os.environ.get("LOCAL_RANK", "0")) > 0
    )


def is_loading_error(err: BaseException) -> bool:
    """Errors that describe damaged files (not bugs): the builtin kinds and the loaders' own classes."""
    builtin = (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError, UnicodeError)
    return isinstance(err, builtin) or type(err).__module__.split(".")[0] in (
        "safetensors",
        "safetensors_rust",
        "huggingface_hub",
        "transformers",
        "tokenizers",
    )


def check_loading_info(info: dict, name_or_path) -> None:
    """A weight the checkpoint lacks would be initialised at random and scored as if trained: refuse it."""
    for kind, what in (
        ("missing_keys", "missing from the weights (it would be random)"),
        ("unexpected_keys", "in the weights but not in the architecture"),
        ("mismatched_keys", "of another shape than config.json says"),
    ):
        keys = sorted(str(k[0] if isinstance(k, tuple) else k) for k in info.get(kind) or [])
        if keys:
            shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
            raise ModelError(f"{len(keys)} tensor(s) {what}: {shown}", file=name_or_path, field=kind)


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
