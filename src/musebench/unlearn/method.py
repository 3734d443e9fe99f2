"""``Method``: one entry of the method registry: what a method is and the facts the pipeline reads about it.

The pipeline asks a ``Method`` (combines logits? sweeps alphas? needs a fine-tuned model? can chain?), never a
method's name. Entries are import paths, so building the registry imports no trainer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    """One entry of the ``METHODS`` registry: a name's trainer and config class, and its facts.

    ``entry`` is ``"module:attribute"`` of a ``UnlearnTrainer`` subclass, or (``runner=True``, methods that
    are not gradient training: Task Vector, WHP, ULD) of a function with ``run_unlearning``'s signature.
    ``config`` is ``"module:attribute"`` of its ``UnlearnConfig`` subclass (None: ``UnlearnConfig`` itself),
    or the class. ``retain`` is the shared retain term of a trainer method: ``none``, ``gdr`` (NLL on retain
    text) or ``klr`` (KL to the reference on retain text), weighted by the config's ``alpha``.
    """

    entry: str
    summary: str
    config: str | type | None = None
    retain: str = "none"
    needs_reference: bool = False  # a frozen copy of the start model is used (NPO, KL retain, RMU)
    reads_retain_text: bool = False  # the method's own term reads retain text (RMU)
    runner: bool = False  # entry is a function with run_unlearning's signature, not a trainer
    # ── facts the pipeline reads ──
    sweeps_alphas: bool = False  # one checkpoint per edit strength (config.alphas), not per epoch
    needs_finetuned: bool = False  # edits a model fine-tuned on the forget set (shared between such methods)
    combines_logits: bool = False  # a checkpoint is two models whose logits combine: no weights of its own
    train_passes: float | None = None  # forward-pass equivalents per forget token (plan; None: as the dearest)
    eval_models: int = 1  # models one evaluation of a checkpoint runs

    @property
    def is_trainer(self) -> bool:
        return not self.runner

    @property
    def can_chain(self) -> bool:
        """Whether a checkpoint can start the next request (C6): only a model with weights of its own."""
        return not self.combines_logits

    @property
    def uses_retain_text(self) -> bool:
        return self.retain != "none" or self.reads_retain_text

    @property
    def config_class(self) -> type:
        from musebench.unlearn.config import UnlearnConfig

        if self.config is None:
            return UnlearnConfig
        return _load(self.config) if isinstance(self.config, str) else self.config

    def load(self):
        return _load(self.entry)


def _load(path: str):
    import importlib

    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)
