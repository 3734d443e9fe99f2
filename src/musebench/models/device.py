"""Device and dtype names as users write them ('auto', 'cuda:1', 'bfloat16'), resolved once for every layer."""

from __future__ import annotations

from musebench.errors import ConfigError


def resolve_device(name: str, field: str = "--device") -> str:
    """'auto' -> cuda if available else cpu; anything else is checked."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("CUDA requested but torch sees no GPU", field=field, value=name)
    if name not in ("cpu", "mps") and not name.startswith("cuda"):
        raise ConfigError("expected cpu, cuda, cuda:N, mps or auto", field=field, value=name)
    if name.startswith("cuda:"):
        index = name.partition(":")[2]
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise ConfigError(f"no such GPU; torch sees {torch.cuda.device_count()}", field=field, value=name)
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("mps requested but this torch has no usable MPS backend", field=field, value=name)
    return name


def resolve_dtype(name: str, device: str):
    """The dtype of weights used for inference (``models.dtypes``: 'auto' -> bfloat16 on CUDA, else float32)."""
    from musebench.models import dtypes

    return dtypes.resolve_dtype(name, device, use="inference")
