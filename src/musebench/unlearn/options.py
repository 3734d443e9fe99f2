"""The options of the built-in method families, one dataclass each: bases of ``UnlearnConfig``.

Every field carries ``metadata={"help": ..., "weights": bool}`` (``weights``: whether the field can change
the trained weights; the config's cache keys and resume check read it). Later methods keep their options in
their own light modules (``idk_options.py``, ``npo_sam_options.py``, ...); plugins use ``method_options``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LOSS_FORMS = ("textbook", "original")
RMU_PARAMS = ("reference", "layers")
DEFAULT_ALPHAS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)


def _help(text: str, weights: bool = True) -> dict:
    """Field metadata: the help text, and whether the field can change the trained weights."""
    return {"help": text, "weights": weights}


@dataclass
class TrainingOptions:
    """musebench's own training fields, shared by every gradient method (beside ``TrainingArguments``')."""

    max_len: int = field(default=2048, metadata=_help("tokens per window, BOS included"))
    lora_r: int = field(default=0, metadata=_help("LoRA rank; 0 trains all weights"))
    lora_alpha: float | None = field(default=None, metadata=_help("LoRA scaling numerator (default 2 * lora_r)"))
    lora_dropout: float = field(default=0.0, metadata=_help("LoRA dropout"))
    dtype: str = field(default="auto", metadata=_help(
        "weights dtype: auto = float32 master weights (bf16 mixed precision on a capable GPU, see --bf16)"))
    loss_form: str = field(default="textbook", metadata=_help("textbook (MUSE-SPEC) or original (the MUSE code's "
                                                             "element-wise-logits NPO and KL)"))
    keep_checkpoints: bool = field(default=False, metadata=_help(
        "keep the Trainer checkpoints (for --resume) after a finished run", weights=False))
    progress: bool = field(default=True, metadata=_help("show the progress bar and per-epoch log lines",
                                                        weights=False))


@dataclass
class RetainOptions:
    """The shared retain term (GDR / KLR / RMU's activation term)."""

    alpha: float | None = field(default=None, metadata=_help("weight of the retain term (default: 1 for GDR/KLR/"
                                                            "SimNPO, 1200 for RMU as in WMDP)"))


@dataclass
class PreferenceOptions:
    """NPO and SimNPO (Zhang et al. 2024, Eq. 3; Fan et al. 2024, Eq. 4)."""

    beta: float | None = field(default=None, metadata=_help("inverse temperature (default 0.1 for NPO, 2.5 for "
                                                           "SimNPO)"))
    gamma: float = field(default=0.0, metadata=_help("SimNPO reward margin"))


@dataclass
class RMUOptions:
    """RMU (Li et al. 2024, WMDP §5): steer one layer's activations on forget text to a random direction."""

    rmu_layer: int | None = field(default=None, metadata=_help(
        "decoder layer whose output is steered (default: num_layers * 7 // 32 as layer 7 of 32 in WMDP, but at "
        "least layer 2, or the last layer of a smaller model, so small models are not steered at layer 0)"))
    rmu_steering_coeff: float = field(default=6.5, metadata=_help("norm of the random control vector (6.5 with "
                                                                  "alpha 1200: WMDP's Zephyr-7B run)"))
    rmu_train_layers: int = field(default=3, metadata=_help("train the last N layers up to rmu_layer (WMDP: "
                                                            "l-2, l-1, l); others frozen"))
    rmu_params: str = field(default="reference", metadata=_help(
        "what trains in those layers: reference = only the MLP output projection (mlp.down_proj), as WMDP's "
        "code; layers = every parameter of those layers"))


@dataclass
class EditOptions:
    """Task Vector and WHP: edit strengths swept after one fine-tuning run (each alpha is a checkpoint)."""

    alphas: list[float] = field(default_factory=lambda: list(DEFAULT_ALPHAS), metadata=_help(
        "edit strengths, one checkpoint each"))
    finetuned_dir: str | None = field(default=None, metadata=_help(
        "where the fine-tuned model is kept (default OUT/finetuned); Task Vector and WHP runs naming the same "
        "directory with the same start model, forget documents and recipe fine-tune once, as MUSE did",
        weights=False))
