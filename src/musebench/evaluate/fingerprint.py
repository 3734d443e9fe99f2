"""Content fingerprints of what an evaluation depends on: the model's weights and its tokenizer.

A model may declare its own fingerprint with a ``musebench_fingerprint`` attribute (a wrapper such as WHP
whose output depends on more than its parameters should); otherwise we hash every tensor of the state
dict (names, dtypes, bytes), the class name, and the module's plain scalar attributes (e.g. WHP's
``alpha``), so two wrappers of the same weights with different settings never share cached results.
"""

from __future__ import annotations

import hashlib

import torch


def model_fingerprint(model, length: int = 16) -> str:
    declared = getattr(model, "musebench_fingerprint", None)
    if declared:
        return str(declared)
    h = hashlib.sha256(type(model).__name__.encode())
    scalars = {k: v for k, v in vars(model).items()
               if not k.startswith("_") and k != "training" and isinstance(v, (bool, int, float, str))}
    h.update(repr(sorted(scalars.items())).encode())
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            t = tensor.detach().contiguous().cpu()
            h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:length]


def tokenizer_fingerprint(tokenizer, length: int = 16) -> str:
    h = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode("utf-8"))
    else:
        h.update(repr(sorted(tokenizer.get_vocab().items())).encode("utf-8"))
    h.update(repr((tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token)).encode("utf-8"))
    return h.hexdigest()[:length]
