"""``Method``: one entry of the method registry (what a method is, not how it trains).

Apart from the config so that the registry and plugins can build entries without importing transformers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    """One entry of the ``METHODS`` registry.

    ``entry`` is ``"module:attribute"``, imported only when the method runs (so importing the registry costs
    nothing): a ``UnlearnTrainer`` subclass, or for methods that are not gradient training (Task Vector,
    WHP) a function with ``run_unlearning``'s signature. ``retain`` is the shared retain term of a trainer
    method: ``none``, ``gdr`` (NLL on retain text) or ``klr`` (KL to the reference on retain text).
    """

    entry: str
    summary: str
    retain: str = "none"
    needs_reference: bool = False  # a frozen copy of the start model is used (NPO, KL retain, RMU)
    reads_retain_text: bool = False  # the method's own term reads retain text (RMU)
    default_beta: float | None = None
    default_alpha: float | None = None  # weight of the retain term
    default_lr: float = 1e-5  # the MUSE recipe; RMU's reference implementation uses 5e-5
    runner: bool = False  # entry is a function with run_unlearning's signature, not a trainer
    options: type | None = None  # a dataclass of the method's own options (``method_options``; plugins)

    @property
    def is_trainer(self) -> bool:
        return not self.runner

    def load(self):
        import importlib

        module, _, attr = self.entry.partition(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def uses_retain_text(self) -> bool:
        return self.retain != "none" or self.reads_retain_text
