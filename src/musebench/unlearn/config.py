"""Typed configuration of an unlearning request, and the types a run returns.

One flat ``UnlearnConfig`` (so it is one set of CLI flags and one YAML mapping) assembled from a dataclass
per concern: the training recipe shared by every method, then the options of each method family. Every
field carries ``metadata={"help": ...}``; ``__post_init__`` checks every field and reports all problems at
once as a ``ConfigError`` naming the field and the value. Fields left at ``None`` take the method's
default, filled in by ``resolved()`` (what ``run.json`` records).

Defaults are the original MUSE recipe for Llama-2-7B (AdamW, lr 1e-5 constant, grad-clip 1.0, 10 epochs,
batches of 4 windows x 2048 tokens); the mini benchmark passes smaller values.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musebench.errors import ConfigError
from musebench.unlearn.idk_options import IdkOptions
from musebench.unlearn.method_options import MethodOptionsField, option_problems, resolved_options
from musebench.unlearn.npo_sam_options import SAMOptions
from musebench.unlearn.uld_options import ULDOptions

LOSS_FORMS = ("textbook", "original")
MIXED_PRECISION = ("auto", "no", "bf16", "fp16")
WEIGHT_DTYPES = ("auto", "float32", "bfloat16", "float16")
RMU_PARAMS = ("reference", "layers")
DEFAULT_ALPHAS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)


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


def _help(text: str) -> dict:
    return {"help": text}


@dataclass
class TrainingOptions:
    """The optimisation recipe shared by every gradient method (MUSE-SPEC: original training recipe)."""

    epochs: int = field(default=10, metadata=_help("passes over the forget set; one checkpoint per epoch"))
    lr: float | None = field(default=None, metadata=_help("AdamW learning rate, constant schedule by default "
                                                           "(default: 1e-5 as MUSE; 5e-5 for RMU as in WMDP)"))
    batch_size: int = field(default=4, metadata=_help("forget windows per device per step"))
    grad_accum: int = field(default=1, metadata=_help("gradient accumulation steps"))
    max_len: int = field(default=2048, metadata=_help("tokens per window, BOS included"))
    seed: int = field(default=0, metadata=_help("seed of initialisation, data order and retain pairing"))
    max_grad_norm: float = field(default=1.0, metadata=_help("gradient clipping norm (0 disables)"))
    weight_decay: float = field(default=0.0, metadata=_help("AdamW weight decay"))
    lr_scheduler: str = field(default="constant", metadata=_help("transformers scheduler name"))
    warmup_steps: int = field(default=0, metadata=_help("learning-rate warm-up steps"))
    max_steps: int = field(default=-1, metadata=_help("stop after this many optimizer steps (-1: all epochs)"))
    lora_r: int = field(default=0, metadata=_help("LoRA rank; 0 trains all weights"))
    lora_alpha: float | None = field(default=None, metadata=_help("LoRA scaling numerator (default 2 * lora_r)"))
    lora_dropout: float = field(default=0.0, metadata=_help("LoRA dropout"))
    device: str = field(default="auto", metadata=_help("cpu, cuda, mps or auto (ignored under accelerate launch)"))
    dtype: str = field(default="auto", metadata=_help("weights dtype: auto = float32 (mixed precision on GPU)"))
    mixed_precision: str = field(default="auto", metadata=_help("auto (bf16 on a bf16-capable GPU), no, bf16, fp16"))
    gradient_checkpointing: bool = field(default=False, metadata=_help("recompute activations to save memory"))
    checkpoint_steps: int = field(default=0, metadata=_help("trainer checkpoint (for --resume) every N steps; "
                                                           "0 = at the end of each epoch; -1 = none (saves "
                                                           "disk: a checkpoint holds weights + optimizer)"))
    keep_checkpoints: bool = field(default=False, metadata=_help("keep trainer checkpoints after a finished run"))
    loss_form: str = field(default="textbook", metadata=_help("textbook (MUSE-SPEC) or original (the MUSE code's "
                                                             "element-wise-logits NPO and KL)"))
    progress: bool = field(default=True, metadata=_help("show the progress bar and per-epoch log lines"))


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

    alphas: tuple[float, ...] = field(default=DEFAULT_ALPHAS, metadata=_help("edit strengths, one checkpoint each"))
    finetuned_dir: str | None = field(default=None, metadata=_help(
        "where the fine-tuned model is kept (default OUT/finetuned); Task Vector and WHP runs naming the same "
        "directory with the same start model, forget documents and recipe fine-tune once, as MUSE did"))


@dataclass
class UnlearnConfig(SAMOptions, IdkOptions, ULDOptions, MethodOptionsField, EditOptions, RMUOptions,
                    PreferenceOptions, RetainOptions, TrainingOptions):
    """Everything one unlearning request needs besides the model, the corpus and the output directory."""

    method: str = field(default="", metadata=_help("unlearning method, a key of musebench.unlearn.METHODS"))

    def __post_init__(self) -> None:
        if isinstance(self.alphas, list):
            self.alphas = tuple(self.alphas)
        problems = list(_problems(self))
        if len(problems) == 1:
            name, value, message = problems[0]
            raise ConfigError(message, field=name, value=value)
        if problems:
            raise ConfigError(f"invalid unlearning config, {len(problems)} problems:",
                              problems=[f"field '{n}': {m} (got {v!r})" for n, v, m in problems])

    @property
    def spec(self) -> Method:
        from musebench.unlearn import METHODS

        return METHODS[self.method]

    def resolved(self) -> UnlearnConfig:
        """A copy with every method-dependent default filled in."""
        spec = self.spec
        values = {}
        if self.beta is None and spec.default_beta is not None:
            values["beta"] = spec.default_beta
        if self.alpha is None and spec.default_alpha is not None:
            values["alpha"] = spec.default_alpha
        if self.lr is None:
            values["lr"] = spec.default_lr
        if self.lora_r and self.lora_alpha is None:
            values["lora_alpha"] = 2.0 * self.lora_r
        values["method_options"] = resolved_options(spec.options, self.method_options)
        return dataclasses.replace(self, **values)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["alphas"] = list(self.alphas)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any], file: str | Path | None = None) -> UnlearnConfig:
        """Build from a mapping (YAML / JSON); unknown keys are an error naming the key."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown unlearning option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                              file=file, field=unknown[0])
        return cls(**data)


def field_help(name: str) -> str:
    """The help text of a config field (the CLI builds its flags from these)."""
    return next(f.metadata.get("help", "") for f in dataclasses.fields(UnlearnConfig) if f.name == name)


def _problems(c: UnlearnConfig):
    from musebench.unlearn import METHODS

    if not isinstance(c.method, str) or c.method not in METHODS:
        yield "method", c.method, f"unknown method; choose one of {', '.join(METHODS)}"
    else:
        try:
            yield from option_problems(METHODS[c.method].options, c.method_options, c.method)
        except ConfigError as err:  # a broken plugin: its error names the package
            yield "method", c.method, err.message
    for name in ("epochs", "batch_size", "grad_accum"):
        value = getattr(c, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            yield name, value, "must be an integer >= 1"
    if not isinstance(c.max_len, int) or c.max_len < 2:
        yield "max_len", c.max_len, "must be an integer >= 2 (BOS plus at least one token)"
    if c.lr is not None and (not isinstance(c.lr, (int, float)) or not math.isfinite(c.lr) or c.lr < 0):
        yield "lr", c.lr, "must be a finite number >= 0"
    for name in ("max_grad_norm", "weight_decay", "lora_dropout", "rmu_steering_coeff", "gamma"):
        value = getattr(c, name)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or (name != "gamma" and value < 0):
            yield name, value, "must be a finite number" + ("" if name == "gamma" else " >= 0")
    if isinstance(c.lr, (int, float)) and c.lr == 0:
        yield "lr", c.lr, "must be > 0"
    if c.rmu_params not in RMU_PARAMS:
        yield "rmu_params", c.rmu_params, f"choose one of {', '.join(RMU_PARAMS)}"
    for name in ("beta", "alpha", "lora_alpha"):
        value = getattr(c, name)
        if value is not None and (not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0):
            yield name, value, "must be a finite number > 0"
    for name in ("warmup_steps", "lora_r"):
        value = getattr(c, name)
        if not isinstance(value, int) or value < 0:
            yield name, value, "must be an integer >= 0"
    if not isinstance(c.checkpoint_steps, int) or c.checkpoint_steps < -1:
        yield "checkpoint_steps", c.checkpoint_steps, "must be -1 (none), 0 (each epoch) or a number of steps"
    if not isinstance(c.max_steps, int) or c.max_steps == 0 or c.max_steps < -1:
        yield "max_steps", c.max_steps, "must be -1 (all epochs) or an integer >= 1"
    if c.uld_layers is not None and (not isinstance(c.uld_layers, int) or isinstance(c.uld_layers, bool)
                                     or c.uld_layers < 1):
        yield "uld_layers", c.uld_layers, "must be an integer >= 1"
    if not isinstance(c.uld_retain_weight, (int, float)) or not math.isfinite(c.uld_retain_weight) \
            or c.uld_retain_weight < 0:
        yield "uld_retain_weight", c.uld_retain_weight, "must be a finite number >= 0"
    if c.rmu_layer is not None and (not isinstance(c.rmu_layer, int) or c.rmu_layer < 0):
        yield "rmu_layer", c.rmu_layer, "must be a layer index >= 0"
    if not isinstance(c.rmu_train_layers, int) or c.rmu_train_layers < 1:
        yield "rmu_train_layers", c.rmu_train_layers, "must be an integer >= 1"
    if c.loss_form not in LOSS_FORMS:
        yield "loss_form", c.loss_form, f"choose one of {', '.join(LOSS_FORMS)}"
    if c.mixed_precision not in MIXED_PRECISION:
        yield "mixed_precision", c.mixed_precision, f"choose one of {', '.join(MIXED_PRECISION)}"
    if c.dtype not in WEIGHT_DTYPES:
        yield "dtype", c.dtype, f"choose one of {', '.join(WEIGHT_DTYPES)}"
    if not isinstance(c.alphas, (tuple, list)) or not c.alphas or any(
            not isinstance(a, (int, float)) or isinstance(a, bool) or not math.isfinite(a) or a <= 0
            for a in c.alphas):
        yield "alphas", c.alphas, "must be a non-empty list of finite numbers > 0"
    schedulers = _scheduler_names()
    if c.lr_scheduler not in schedulers:
        yield "lr_scheduler", c.lr_scheduler, f"choose one of {', '.join(schedulers)}"
    if not isinstance(c.seed, int) or isinstance(c.seed, bool) or not 0 <= c.seed < 2**32:
        yield "seed", c.seed, "must be an integer in [0, 2**32)"
    if not isinstance(c.device, str):
        yield "device", c.device, "must be a string"
    for f in dataclasses.fields(c):  # a method's own options carry their check in their metadata
        if "check" in f.metadata and (message := f.metadata["check"](getattr(c, f.name))) is not None:
            yield f.name, getattr(c, f.name), message


def _scheduler_names() -> tuple[str, ...]:
    """The learning-rate schedules ``TrainingArguments`` accepts by name."""
    from transformers.trainer_utils import SchedulerType

    return tuple(s.value for s in SchedulerType)


@dataclass(frozen=True)
class Checkpoint:
    """One model produced by a run: ``epoch-K`` (gradient methods) or ``alpha-A`` (Task Vector / WHP)."""

    label: str
    path: Path


@dataclass
class UnlearnRun:
    """What ``run_unlearning`` returns; ``out_dir/run.json`` holds the same plus provenance."""

    method: str
    out_dir: Path
    checkpoints: list[Checkpoint]
    config: dict[str, Any]
    history: dict[str, Any] = field(default_factory=dict)  # {"steps": [...], "epochs": [...]}
    status: str = "complete"

    @property
    def run_json(self) -> Path:
        return self.out_dir / "run.json"

    def checkpoint(self, label: str) -> Checkpoint:
        for ckpt in self.checkpoints:
            if ckpt.label == label:
                return ckpt
        raise ConfigError(f"run has no checkpoint '{label}'; it has {', '.join(c.label for c in self.checkpoints)}",
                          file=self.out_dir, value=label)
