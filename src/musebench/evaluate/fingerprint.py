"""Content fingerprints of what an evaluation depends on: the model's weights and its tokenizer.

A model may declare its own fingerprint with a ``musebench_fingerprint`` attribute (a wrapper such as WHP
whose output depends on more than its parameters should). A model loaded from weight files and not changed
since (``mark_weights_source`` at load time; a parameter written in place, replaced or added breaks the
mark) is named by its files: a streamed SHA-256 of each file, remembered by (path, size, mtime) so the
next evaluation of the same checkpoint reads no weight byte at all, or, for a hub model, by its repository
and resolved revision. Anything else is hashed tensor by tensor (names, dtypes, shapes, bytes) without a
state-dict copy. The class name, the parameter dtype and the module's plain scalar attributes (e.g. WHP's
``alpha``) always enter, so two wrappers of the same weights with different settings never share results.
"""

from __future__ import annotations

import hashlib
import json

import torch

from musebench.models.weight_files import weights_source


def model_fingerprint(model, length: int = 16) -> str:
    declared = getattr(model, "musebench_fingerprint", None)
    if declared:
        return str(declared)
    h = hashlib.sha256(type(model).__name__.encode())
    scalars = {
        k: v
        for k, v in vars(model).items()
        if not k.startswith("_") and k != "training" and isinstance(v, (bool, int, float, str))
    }
    h.update(repr(sorted(scalars.items())).encode())
    origin = weights_source(model)
    if origin is not None:
        dtypes = sorted({str(t.dtype) for t in model.parameters()})
        h.update(json.dumps({"origin": origin, "dtypes": dtypes}, sort_keys=True).encode())
        return h.hexdigest()[:length]
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            t = tensor.detach()
            h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
            t = t.cpu().contiguous() if t.device.type != "cpu" or not t.is_contiguous() else t
            h.update(t.reshape(-1).view(torch.uint8).numpy())  # the buffer itself, no bytes copy
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
