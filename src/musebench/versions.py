"""Installed package versions for provenance records: one collector and one list of what is recorded, so
an evaluation summary, an audit, a built model and an experiment's results all say the same thing."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata

#: The distributions every provenance record names (what can change a score, a checkpoint or a report).
RECORDED_PACKAGES: tuple[str, ...] = (
    "musebench",
    "torch",
    "transformers",
    "tokenizers",
    "accelerate",
    "peft",
    "safetensors",
    "datasets",
    "rouge-score",
    "scikit-learn",
    "numpy",
)


def package_versions(names: Iterable[str] = RECORDED_PACKAGES) -> dict[str, str | None]:
    """``name -> version`` of each distribution, ``None`` where it is not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def environment_versions() -> dict[str, str | None]:
    """The Python version and every recorded package's (``package_versions``)."""
    return {"python": platform.python_version(), **package_versions()}
