"""Typed configuration of an unlearning request: a ``transformers.TrainingArguments`` subclass.

As TRL's method configs (``DPOConfig`` ...), ``UnlearnConfig`` *is* the Trainer's arguments: every Hugging
Face field keeps its name and meaning (``learning_rate``, ``optim``, ``adam_beta2``, ``torch_compile``,
``report_to`` ...), the MUSE recipe re-declares the defaults it changes, and one dataclass per method
family adds that family's options (other methods add one more base: see ``UnlearnConfig``'s bases).
``HfArgumentParser`` turns every field into a flag and a YAML key (``commands/unlearn.py``).

Every musebench field carries ``metadata={"help": ..., "weights": bool}``; ``weights`` says whether the
field can change the trained weights. That flag is the one source of "fields that do not change the
weights": the resume check, the fine-tuned model's key and the experiment's stage key all read it
(:func:`changes_weights`, :func:`weight_fields`, :func:`key_fields`). The old short names (``epochs``,
``lr``, ``batch_size``, ``device``, ``checkpoint_steps`` ...) keep working through the one ``ALIASES``
table, in YAML, ``from_dict`` and as CLI flags.

``__post_init__`` reports every problem at once (ours and whatever ``TrainingArguments`` rejects) as one
``ConfigError``. Fields left at ``None`` take the method's default, filled in by ``resolved()``.

Defaults are the original MUSE recipe for Llama-2-7B (AdamW, lr 1e-5 constant, grad-clip 1.0, 10 epochs,
batches of 4 windows x 2048 tokens); the mini benchmark passes smaller values.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainingArguments
from transformers.trainer_utils import SaveStrategy, SchedulerType
from transformers.training_args import OptimizerNames

from musebench.errors import ConfigError, shown_value
from musebench.models.dtypes import DTYPE_NAMES
from musebench.unlearn.idk_options import IdkOptions
from musebench.unlearn.method import Method
from musebench.unlearn.method_options import MethodOptionsField, option_problems, resolved_options
from musebench.unlearn.npo_sam_options import SAMOptions
from musebench.unlearn.options import (
    DEFAULT_ALPHAS,
    LOSS_FORMS,
    RMU_PARAMS,
    EditOptions,
    PreferenceOptions,
    RetainOptions,
    RMUOptions,
    TrainingOptions,
    _help,
)
from musebench.unlearn.satimp_options import SatImpOptions
from musebench.unlearn.uld_options import ULD_ALPHAS, ULDOptions
from musebench.unlearn.undial_options import UndialOptions
from musebench.unlearn.wga_options import WGAOptions

#: Kept for callers that list the old ``mixed_precision`` values (the alias below maps them onto bf16 / fp16).
MIXED_PRECISION = ("auto", "no", "bf16", "fp16")
WEIGHT_DTYPES = DTYPE_NAMES


@dataclass
class UnlearnConfig(SatImpOptions, WGAOptions, UndialOptions, SAMOptions, IdkOptions, ULDOptions, MethodOptionsField,
                    EditOptions, RMUOptions, PreferenceOptions, RetainOptions, TrainingOptions, TrainingArguments):
    """Everything one unlearning request needs besides the model, the corpus and the output directory.

    A new method family adds its options dataclass as one more base, first in the list (its fields are
    prefixed with the method's name, ``metadata={"help": ..., "weights": ...}``); a plugin's options live in
    ``method_options``, checked by its ``Method.options`` dataclass."""

    method: str = field(default="", metadata=_help("unlearning method, a key of musebench.unlearn.METHODS"))

    # ── TrainingArguments fields whose default is the MUSE recipe's, not Hugging Face's ──
    output_dir: str | None = field(default=None, metadata=_help(
        "set by the run: OUT/checkpoints (the Trainer checkpoints --resume continues from)", weights=False))
    learning_rate: float | None = field(default=None, metadata=_help(
        "AdamW learning rate, constant schedule by default (default: the method's, 1e-5 as MUSE; 5e-5 for RMU "
        "as in WMDP)"))
    num_train_epochs: int = field(default=10, metadata=_help("passes over the forget set; one checkpoint per "
                                                             "epoch"))
    per_device_train_batch_size: int = field(default=4, metadata=_help("forget windows per device per step"))
    lr_scheduler_type: SchedulerType | str = field(default="constant", metadata=_help(
        "transformers scheduler name"))
    optim: OptimizerNames | str = field(default="adamw_torch", metadata=_help("optimizer (MUSE: AdamW)"))
    seed: int = field(default=0, metadata=_help("seed of initialisation, data order and retain pairing"))
    bf16: bool | None = field(default=None, metadata=_help(
        "bf16 mixed precision; unset: on a bf16-capable CUDA GPU (not with --use_cpu or --fp16)"))
    use_cpu: bool = field(default=False, metadata=_help("train on the CPU even when a GPU is there", weights=False))
    save_strategy: SaveStrategy | str = field(default="epoch", metadata=_help(
        "Trainer checkpoints for --resume: epoch (default), steps (every --save_steps) or no (saves disk: a "
        "checkpoint holds weights + optimizer); the epoch-K models are written either way", weights=False))
    save_total_limit: int | None = field(default=1, metadata=_help("Trainer checkpoints kept while running",
                                                                   weights=False))
    logging_steps: float = field(default=1, metadata=_help("log the loss every N steps (run.json's history)",
                                                           weights=False))
    report_to: None | str | list[str] = field(default="none", metadata=_help(
        "experiment trackers to report to (none, all, wandb, tensorboard, ...)", weights=False))
    remove_unused_columns: bool = field(default=False, metadata=_help(
        "keep False: the pair collator reads every column", weights=False))
    ddp_find_unused_parameters: bool | None = field(default=False, metadata=_help(
        "every trainable parameter takes part in every step (RMU freezes the layers it does not train), so "
        "DDP need not search the graph for unused ones", weights=False))

    def __post_init__(self) -> None:
        if isinstance(self.alphas, tuple):
            self.alphas = list(self.alphas)
        if self.method == "uld" and self.alphas == list(DEFAULT_ALPHAS):
            self.alphas = list(ULD_ALPHAS)  # the shared default is Task Vector / WHP's sweep; ULD's is <= 1
        problems = list(_problems(self))
        problems += _type_problems(self, {name for name, _, _ in problems})
        problems += _hf_problems(self, {name for name, _, _ in problems})
        if len(problems) == 1:
            name, value, message = problems[0]
            raise ConfigError(message, field=name, value=value)
        if problems:
            raise ConfigError(f"invalid unlearning config, {len(problems)} problems:",
                              problems=[f"field '{n}': {m}" + ("" if v is None else f" (got {shown_value(v)})")
                                        for n, v, m in problems])

    @property
    def spec(self) -> Method:
        from musebench.unlearn import METHODS

        return METHODS[self.method]

    def resolved(self) -> UnlearnConfig:
        """A copy with every method-dependent default filled in."""
        spec = self.spec
        values: dict[str, Any] = {}
        if self.beta is None and spec.default_beta is not None:
            values["beta"] = spec.default_beta
        if self.alpha is None and spec.default_alpha is not None:
            values["alpha"] = spec.default_alpha
        if self.learning_rate is None:
            values["learning_rate"] = spec.default_lr
        if self.lora_r and self.lora_alpha is None:
            values["lora_alpha"] = 2.0 * self.lora_r
        options = resolved_options(spec.options, self.method_options)
        if options != self.method_options:
            values["method_options"] = options
        return dataclasses.replace(self, **values) if values else self

    def record(self) -> dict[str, Any]:
        """What ``run.json`` keeps: every field musebench declares (its own and the MUSE recipe's), and the
        other ``TrainingArguments`` fields where they differ from Hugging Face's defaults; ``from_dict``
        reads it back to the same config. ``output_dir`` is left out: the run sets it."""
        values = self._values()
        hf_defaults = _hf_defaults(self.use_cpu)
        return {f.name: values[f.name] for f in config_fields()
                if f.name not in _UNRECORDED and (f.name in _OURS or values[f.name] != hf_defaults.get(f.name))}

    def _values(self) -> dict[str, Any]:
        values = _plain(self.to_dict())
        if isinstance(values.get("accelerator_config"), dict):  # the device set-up pops this key: not a value
            values["accelerator_config"].pop("use_configured_state", None)
        return values

    def weight_values(self) -> dict[str, Any]:
        """The fields that change the weights, as plain JSON values: what a resume must not change."""
        values = self._values()
        return {name: values[name] for name in weight_fields()}

    def changed_from(self, recorded: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """``{field: (recorded value, value now)}`` for the weight-changing fields that differ from
        ``recorded`` (a ``record()`` of any musebench: old names are read through ``ALIASES``, unknown ones
        are ignored; a field a record leaves out had its default)."""
        before = _plain(_canonical(recorded)[0])
        defaults = _config_defaults()
        changed = {}
        for name, now in self.weight_values().items():
            then = before.get(name, defaults.get(name, _MISSING))
            if then != now:
                changed[name] = (None if then is _MISSING else then, now)
        return dict(sorted(changed.items()))

    @classmethod
    def from_dict(cls, data: dict[str, Any], file: str | Path | None = None) -> UnlearnConfig:
        """Build from a mapping (YAML / JSON / a ``record()``); old names go through ``ALIASES``; every unknown
        key or bad value is reported in one error naming it."""
        return cls.from_layers(data, file=file)

    @classmethod
    def from_layers(cls, *layers: dict[str, Any], file: str | Path | None = None) -> UnlearnConfig:
        """Build from mappings where a later one overrides an earlier one (a YAML file, then the typed flags),
        each under either name; every problem of every layer is reported at once."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        typed: dict[str, str] = {}  # field -> the (old) name the user wrote for it
        for layer in layers:
            problems += [f"'{key}' is set by the run (OUT/checkpoints), not an option"
                         for key in _UNRECORDED if key in layer]
            layer_values, layer_problems = _canonical({k: v for k, v in layer.items() if k not in _UNRECORDED})
            values.update(layer_values)
            problems += layer_problems
            for key in layer:
                alias = ALIASES.get(key)
                if alias is not None and alias.convert is None:
                    typed[alias.target] = key
                elif key in layer_values:
                    typed.pop(key, None)
        try:
            config = cls(**values)
        except ConfigError as err:
            err = _as_typed(err, typed)
            if not problems:
                if file is not None and err.file is None:
                    err.file = str(file)
                    err.args = (err._format(),)
                raise err from None
            problems += err.problems or [f"field '{err.field}': {err.message}"
                                         + ("" if err.value is None else f" (got {shown_value(err.value)})")]
        if problems:
            if len(problems) == 1:
                raise ConfigError(problems[0], file=file)
            raise ConfigError(f"invalid unlearning options, {len(problems)} problems:", file=file,
                              problems=problems)
        return config


def _as_typed(err: ConfigError, typed: dict[str, str]) -> ConfigError:
    """``err`` naming a field by the old name the user wrote, beside the field's (``lr (learning_rate)``)."""
    if not typed:
        return err

    def name(field_name: str) -> str:
        return f"{typed[field_name]} ({field_name})" if field_name in typed else field_name

    problems = [re.sub(r"^field '([^']+)'", lambda m: f"field '{name(m.group(1))}'", p) for p in err.problems]
    return ConfigError(err.message, field=name(err.field) if err.field else None, value=err.value,
                       problems=problems)


_MISSING = object()


def config_fields() -> tuple[dataclasses.Field, ...]:
    """The fields a user sets (``init`` fields: ``TrainingArguments``' and musebench's; not the deprecated
    names Hugging Face mirrors, which ``ALIASES`` maps)."""
    return tuple(f for f in dataclasses.fields(UnlearnConfig) if f.init and f.name not in _MIRRORS)


#: ``TrainingArguments`` fields (kept at Hugging Face's declaration) that never change the trained weights:
#: where and how often things are written, logged or shown, evaluation and hub settings. Every other field
#: Hugging Face declares counts as weight-changing (the safe side: a false "changes" only costs a re-run).
HF_FIELDS_NOT_CHANGING_WEIGHTS = (
    "overwrite_output_dir", "logging_dir", "logging_strategy", "logging_first_step", "logging_nan_inf_filter",
    "save_steps", "save_on_each_node", "save_only_model", "save_safetensors", "disable_tqdm", "run_name",
    "resume_from_checkpoint", "skip_memory_metrics", "log_level", "log_level_replica", "log_on_each_node",
    "dataloader_num_workers", "dataloader_pin_memory", "dataloader_persistent_workers",
    "dataloader_prefetch_factor", "project", "trackio_space_id", "trackio_bucket_id", "ddp_timeout",
    "restore_callback_states_from_checkpoint", "prediction_loss_only", "do_train", "do_eval", "do_predict",
    "per_device_eval_batch_size", "eval_strategy", "eval_steps", "eval_delay", "eval_accumulation_steps",
    "eval_do_concat_batches", "eval_on_start", "eval_use_gather_object", "batch_eval_metrics",
    "load_best_model_at_end", "metric_for_best_model", "greater_is_better", "include_for_metrics",
    "include_num_input_tokens_seen", "include_tokens_per_second", "push_to_hub", "hub_model_id",
    "hub_strategy", "hub_token", "hub_private_repo", "hub_always_push", "hub_revision", "label_names",
    "torch_empty_cache_steps", "use_liger_kernel", "liger_kernel_config", "dataloader_drop_last_eval",
    "local_rank", "ddp_backend", "ddp_bucket_cap_mb", "dataloader_multiprocessing_context", "debug", "use_cache",
    "trackio_static_space_id", "enable_jit_checkpoint",
)


def changes_weights(name: str) -> bool:
    """Whether the config field ``name`` can change the trained weights (its ``weights`` metadata)."""
    f = _FIELDS[name]
    if "weights" in f.metadata:
        return bool(f.metadata["weights"])
    return name not in HF_FIELDS_NOT_CHANGING_WEIGHTS


def weight_fields() -> tuple[str, ...]:
    return tuple(f.name for f in config_fields() if changes_weights(f.name))


def recipe_fields() -> tuple[str, ...]:
    """The weight-changing fields of the training recipe itself: ``TrainingArguments``' and
    ``TrainingOptions``' (not a method's options): they decide θ_ft, the fine-tuned model of Task Vector / WHP."""
    own = {f.name for f in dataclasses.fields(TrainingArguments)} | {f.name for f in dataclasses.fields(
        TrainingOptions)}
    return tuple(n for n in weight_fields() if n in own)


def key_fields(values: dict[str, Any], only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A request's fields (YAML names, old or new) reduced to those that change the weights (``only``: and
    among these): the part of a cache key that must differ when the checkpoints would."""
    canonical_values, _ = _canonical(values)
    keep = set(weight_fields() if only is None else only)
    kept = {k: v for k, v in _plain(canonical_values).items() if k in keep}
    for f in config_fields():  # a file the method reads: its bytes decide the weights, not its name
        if f.metadata.get("content") and kept.get(f.name):
            kept[f.name] = {"path": kept[f.name], "sha256": _file_digest(kept[f.name])}
    return kept


def _file_digest(path: str) -> str | None:
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None  # the config check reports the missing file


# ── the one table of old / short names ──────────────────────────────────────────────────────────────────

def _device(value: Any) -> dict[str, Any]:
    if not isinstance(value, str) or not (value in ("auto", "cpu", "mps") or value.startswith("cuda")):
        raise ValueError("expected cpu, cuda, cuda:N, mps or auto")
    return {"use_cpu": value == "cpu"}


def _mixed_precision(value: Any) -> dict[str, Any]:
    if value not in MIXED_PRECISION:
        raise ValueError(f"choose one of {', '.join(MIXED_PRECISION)}")
    return {"bf16": None if value == "auto" else value == "bf16", "fp16": value == "fp16"}


def _checkpoint_steps(value: Any) -> dict[str, Any]:
    if not isinstance(value, int) or isinstance(value, bool) or value < -1:
        raise ValueError("must be -1 (none), 0 (each epoch) or a number of steps")
    if value > 0:
        return {"save_strategy": "steps", "save_steps": value}
    return {"save_strategy": "no" if value < 0 else "epoch"}


@dataclass(frozen=True)
class Alias:
    """An old musebench name: a plain rename of one field, or (``convert``) a value mapped onto fields."""

    name: str
    target: str  # the field it sets (the first of them, for a converted one)
    convert: Callable[[Any], dict[str, Any]] | None = None
    flag_type: type = str  # the CLI flag's type, for a converted alias
    help: str = ""


ALIASES: dict[str, Alias] = {a.name: a for a in (
    Alias("epochs", "num_train_epochs"),
    Alias("lr", "learning_rate"),
    Alias("batch_size", "per_device_train_batch_size"),
    Alias("grad_accum", "gradient_accumulation_steps"),
    Alias("lr_scheduler", "lr_scheduler_type"),
    Alias("gradient_checkpointing", "activation_checkpointing"),  # Hugging Face's own deprecated name
    Alias("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs"),
    Alias("device", "use_cpu", _device, str, "cpu, cuda, mps or auto: cpu sets --use_cpu (under accelerate "
                                             "launch the launcher decides)"),
    Alias("mixed_precision", "bf16", _mixed_precision, str, "auto (bf16 on a bf16-capable GPU), no, bf16, fp16: "
                                                            "sets --bf16 / --fp16"),
    Alias("checkpoint_steps", "save_strategy", _checkpoint_steps, int,
          "Trainer checkpoint (for --resume) every N steps; 0 = each epoch; -1 = none: sets --save_strategy / "
          "--save_steps"),
) if a.target in {f.name for f in dataclasses.fields(TrainingArguments)}}


#: Deprecated Hugging Face names that mirror a newer field (``__post_init__`` copies it): not fields of their own.
_MIRRORS = {a.name for a in ALIASES.values() if a.name in {f.name for f in dataclasses.fields(TrainingArguments)}}
_UNRECORDED = {"output_dir"}


def canonical(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every old name replaced by the fields it sets; a ``ConfigError`` lists every problem."""
    values, problems = _canonical(data)
    if problems:
        raise ConfigError(problems[0]) if len(problems) == 1 else ConfigError(
            f"invalid unlearning options, {len(problems)} problems:", problems=problems)
    return values


def _canonical(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    known = {f.name for f in config_fields()}
    values: dict[str, Any] = {}
    problems: list[str] = []
    given: dict[str, str] = {}  # field -> the key that set it
    for key, value in data.items():
        alias = ALIASES.get(key)
        if alias is None and key not in known:
            problems.append(f"unknown unlearning option '{key}'" + _suggest(key, known))
            continue
        if alias is None:
            mapped = {key: value}
        elif alias.convert is None:
            mapped = {alias.target: value}
        else:
            try:
                mapped = alias.convert(value)
            except ValueError as err:
                problems.append(f"field '{key}': {err} (got {shown_value(value)})")
                continue
        for name, v in mapped.items():
            if name in values and given[name] != key and _plain({name: values[name]}) != _plain({name: v}):
                problems.append(f"field '{key}' and '{given[name]}' both set {name} ({shown_value(v)} vs {shown_value(values[name])})")
            values[name], given[name] = v, key
    return values, problems


def _suggest(key: str, known: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), sorted(known | set(ALIASES)), n=3)
    return f"; did you mean {', '.join(close)}?" if close else "; see 'musebench unlearn --help'"


# ── validation ─────────────────────────────────────────────────────────────────────────────────────────

def _problems(c: UnlearnConfig):
    """Our checks, before ``TrainingArguments`` converts anything: (field, value, message) triples."""
    from musebench.unlearn import METHODS

    if not isinstance(c.method, str) or c.method not in METHODS:
        yield "method", c.method, f"unknown method; choose one of {', '.join(METHODS)}"
    else:
        try:
            yield from option_problems(METHODS[c.method].options, c.method_options, c.method)
        except ConfigError as err:  # a broken plugin: its error names the package
            yield "method", c.method, err.message
    for name in ("num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps"):
        value = getattr(c, name)
        if isinstance(value, float) and value.is_integer() and value >= 1:
            setattr(c, name, int(value))  # YAML's 10.0, a record's float: the same integer
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            yield name, value, "must be an integer >= 1"
    if not isinstance(c.max_len, int) or isinstance(c.max_len, bool) or c.max_len < 2:
        yield "max_len", c.max_len, "must be an integer >= 2 (BOS plus at least one token)"
    lr = c.learning_rate
    if lr is not None and (not _finite(lr) or lr <= 0):
        yield "learning_rate", lr, "must be a finite number > 0"
    for name in ("max_grad_norm", "weight_decay", "lora_dropout", "rmu_steering_coeff", "warmup_steps"):
        value = getattr(c, name)
        if not _finite(value) or value < 0:
            yield name, value, "must be a finite number >= 0"
    if not _finite(c.gamma):
        yield "gamma", c.gamma, "must be a finite number"
    if c.rmu_params not in RMU_PARAMS:
        yield "rmu_params", c.rmu_params, f"choose one of {', '.join(RMU_PARAMS)}"
    for name in ("beta", "alpha", "lora_alpha"):
        value = getattr(c, name)
        if value is not None and (not _finite(value) or value <= 0):
            yield name, value, "must be a finite number > 0"
    if not isinstance(c.lora_r, int) or isinstance(c.lora_r, bool) or c.lora_r < 0:
        yield "lora_r", c.lora_r, "must be an integer >= 0"
    if not isinstance(c.max_steps, int) or c.max_steps == 0 or c.max_steps < -1:
        yield "max_steps", c.max_steps, "must be -1 (all epochs) or an integer >= 1"
    if c.uld_layers is not None and (not isinstance(c.uld_layers, int) or isinstance(c.uld_layers, bool)
                                     or c.uld_layers < 1):
        yield "uld_layers", c.uld_layers, "must be an integer >= 1"
    if not isinstance(c.uld_retain_weight, (int, float)) or not math.isfinite(c.uld_retain_weight) \
            or c.uld_retain_weight < 0:
        yield "uld_retain_weight", c.uld_retain_weight, "must be a finite number >= 0"
    if isinstance(c.uld_top_logit_filter, bool) or not isinstance(c.uld_top_logit_filter, (int, float)) \
            or not 0 <= c.uld_top_logit_filter < 1:
        yield "uld_top_logit_filter", c.uld_top_logit_filter, "must be a number in [0, 1) (0 = off)"
    if c.rmu_layer is not None and (not isinstance(c.rmu_layer, int) or c.rmu_layer < 0):
        yield "rmu_layer", c.rmu_layer, "must be a layer index >= 0"
    if not isinstance(c.rmu_train_layers, int) or c.rmu_train_layers < 1:
        yield "rmu_train_layers", c.rmu_train_layers, "must be an integer >= 1"
    if c.loss_form not in LOSS_FORMS:
        yield "loss_form", c.loss_form, f"choose one of {', '.join(LOSS_FORMS)}"
    if c.dtype not in DTYPE_NAMES:
        yield "dtype", c.dtype, f"choose one of {', '.join(DTYPE_NAMES)}"
    if not isinstance(c.alphas, list) or not c.alphas or any(not _finite(a) or a <= 0 for a in c.alphas):
        yield "alphas", c.alphas, "must be a non-empty list of finite numbers > 0"
    schedulers = tuple(s.value for s in SchedulerType)
    if getattr(c.lr_scheduler_type, "value", c.lr_scheduler_type) not in schedulers:
        yield "lr_scheduler_type", c.lr_scheduler_type, f"choose one of {', '.join(schedulers)}"
    if not isinstance(c.seed, int) or isinstance(c.seed, bool) or not 0 <= c.seed < 2**32:
        yield "seed", c.seed, "must be an integer in [0, 2**32)"
    for f in dataclasses.fields(c):  # a method's own options carry their check in their metadata
        if "check" in f.metadata and (message := f.metadata["check"](getattr(c, f.name))) is not None:
            yield f.name, getattr(c, f.name), message


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _type_problems(c: UnlearnConfig, flagged: set[str]) -> list[tuple[str, Any, str]]:
    """Values of a type their field does not declare (a YAML list where a name goes), named before
    ``TrainingArguments.__post_init__`` trips over them."""
    problems = []
    for f in config_fields():
        value = getattr(c, f.name)
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if f.name in flagged or value is default or value == default or \
                type(value) not in (str, int, float, bool, list, dict):  # an object: made by code, not by YAML
            continue
        allowed = _plain_types(_HINTS()[f.name])
        if allowed is None:
            continue
        ok = any(isinstance(value, t) and not (isinstance(value, bool) and t in (int, float)) for t in allowed)
        if not ok:
            names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
            problems.append((f.name, value, f"expected {names}"))
    return problems


def _plain_types(annotation) -> tuple[type, ...] | None:
    """The plain types an annotation admits (an Enum admits its values' strings); None: not checked."""
    import enum
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        parts = [_plain_types(a) for a in typing.get_args(annotation)]
        return None if any(p is None for p in parts) else tuple(t for p in parts for t in p)
    if origin in (list, dict):
        return (origin,)
    if annotation is type(None):
        return (type(None),)
    if annotation is float:
        return (int, float)
    if annotation in (bool, int, str, list, dict):
        return (annotation,)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return (annotation, str)
    return None


def _HINTS() -> dict[str, Any]:
    global _TYPE_HINTS
    if _TYPE_HINTS is None:
        import typing

        _TYPE_HINTS = typing.get_type_hints(UnlearnConfig)
    return _TYPE_HINTS


_TYPE_HINTS: dict[str, Any] | None = None


def _hf_problems(c: UnlearnConfig, flagged: set[str]) -> list[tuple[str, Any, str]]:
    """What ``TrainingArguments.__post_init__`` rejects, with the fields we already reported at their defaults
    (so one bad value is reported once, and the others are still checked)."""
    defaults = {f.name: f for f in config_fields()}
    bad = {}
    for name in flagged & set(defaults):
        bad[name] = getattr(c, name)
        f = defaults[name]
        setattr(c, name, f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
    auto_bf16 = c.bf16 is None
    if auto_bf16:  # resolved when the run knows its device (``trainer_arguments``)
        c.bf16 = False
    try:
        _post_init_without_devices(c)
    except Exception as err:  # noqa: BLE001 - whatever it rejects is a problem of the user's options
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return [("TrainingArguments", None, message)]
    finally:
        if auto_bf16:
            c.bf16 = None
        for name, value in bad.items():
            setattr(c, name, value)
    return []


def _post_init_without_devices(args: TrainingArguments) -> None:
    """``TrainingArguments.__post_init__`` without its device set-up, which resets accelerate's global state:
    a config is built (to validate it, to compare a record) while a Trainer may be running. The Trainer sets
    the devices up itself (``args._setup_devices`` in its ``__init__``)."""
    args.__dict__["_setup_devices"] = None  # the cached_property's slot: ``self.device`` reads it, runs nothing
    try:
        TrainingArguments.__post_init__(args)
    finally:
        args.__dict__.pop("_setup_devices", None)


# ── helpers ────────────────────────────────────────────────────────────────────────────────────────────

def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-shaped values: enums by value, tuples as lists (so a record and a live config compare equal)."""
    from enum import Enum

    def plain(v):
        if isinstance(v, Enum):
            return v.value
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in values.items()}


def _hf_defaults(use_cpu: bool) -> dict[str, Any]:
    """A plain ``TrainingArguments``' values after its ``__post_init__`` (what it derives from its defaults,
    e.g. ``accelerator_config``, counts as default), as plain values."""
    if use_cpu not in _HF_DEFAULTS:
        plain = TrainingArguments.__new__(TrainingArguments)
        plain.__dict__["_setup_devices"] = None  # no device set-up (see _post_init_without_devices)
        TrainingArguments.__init__(plain, output_dir="unused", use_cpu=use_cpu)
        _HF_DEFAULTS[use_cpu] = UnlearnConfig._values(plain)
    return _HF_DEFAULTS[use_cpu]


def _config_defaults() -> dict[str, Any]:
    """``UnlearnConfig``'s own defaults (the MUSE recipe's where it re-declares a field), as plain values."""
    global _DEFAULTS
    if _DEFAULTS is None:
        _DEFAULTS = UnlearnConfig(method="ga")._values()
        _DEFAULTS.pop("method")
    return _DEFAULTS


_GENERATED_INIT = UnlearnConfig.__init__


def _init(self, **values) -> None:
    """The dataclass ``__init__``, taking the old short names too (``UnlearnConfig(method="ga", lr=1e-3)``)."""
    _GENERATED_INIT(self, **canonical(values))


UnlearnConfig.__init__ = _init
_HF_DEFAULTS: dict[bool, dict[str, Any]] = {}
_DEFAULTS: dict[str, Any] | None = None
_FIELDS = {f.name: f for f in dataclasses.fields(UnlearnConfig)}
_OURS = {n for n, f in _FIELDS.items() if "weights" in f.metadata}  # declared (or re-declared) here


def field_help(name: str) -> str:
    """The help text of a config field (the CLI shows it beside the flag)."""
    return _FIELDS[name].metadata.get("help", "")


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
