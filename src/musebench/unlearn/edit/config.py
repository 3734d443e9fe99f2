"""The config of the fine-tune-then-edit methods (Task Vector, WHP; ULD extends it in ``uld.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from musebench.unlearn.config import UnlearnConfig, _finite

#: Task Vector / WHP's edit strengths: the powers of two the MUSE paper sweeps (up to 512).
DEFAULT_ALPHAS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)


@dataclass
class EditConfig(UnlearnConfig):
    """Edit strengths swept after one fine-tuning run (each alpha is a checkpoint), and where that run lives."""

    alphas: list[float] = field(
        default_factory=lambda: list(DEFAULT_ALPHAS), metadata={"help": "edit strengths, one checkpoint each"}
    )
    finetuned_dir: str | None = field(
        default=None,
        metadata={
            "help": "where the fine-tuned model is kept (default OUT/finetuned); Task Vector and WHP runs naming the "
            "same directory with the same start model, forget documents and recipe fine-tune once, as MUSE "
            "did"
        },
    )

    def __post_init__(self):
        if isinstance(self.alphas, tuple):
            self.alphas = list(self.alphas)
        if not isinstance(self.alphas, list) or not self.alphas or any(not _finite(a) or a <= 0 for a in self.alphas):
            self.reject(("alphas", self.alphas, "must be a non-empty list of finite numbers > 0"))
        super().__post_init__()
