"""Typed configuration of an unlearning request, in TRL's shape: ``UnlearnConfig`` *is* the Trainer's arguments.

``UnlearnConfig(TrainingArguments)`` holds the MUSE recipe (the defaults it changes from Hugging Face's) and
the fields every method shares; each method family subclasses it beside its trainer (``NPOConfig`` in
``methods/npo.py`` ...) with its own fields, unprefixed, and their checks in ``__post_init__``. The registry
maps a method name to its trainer and its config class (``Method``). Every field keeps its Hugging Face name
and meaning; ``HfArgumentParser`` turns the fields of a method's class into its flags and YAML keys.

``WEIGHTLESS`` is the one list of fields that never change the trained weights: the resume check, the
fine-tuned model's key and the experiment's stage key read it. Old names (``musebench.schema.RENAMED``, the one
map of them) are read only from ``run.json`` files written before (with a deprecation warning).

``__post_init__`` reports every problem at once (ours, the family's and whatever ``TrainingArguments``
rejects) as one ``ConfigError``.

Defaults are the original MUSE recipe for Llama-2-7B (AdamW, lr 1e-5 constant, grad-clip 1.0, 10 epochs,
batches of 4 windows x 2048 tokens); the mini benchmark passes smaller values.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from transformers import TrainingArguments
from transformers.trainer_utils import SaveStrategy, SchedulerType
from transformers.training_args import OptimizerNames

from musebench.errors import ConfigError, shown_value
from musebench.models.dtypes import DTYPE_NAMES
from musebench.schema import renames_for

LOSS_FORMS = ("textbook", "original")
WEIGHT_DTYPES = DTYPE_NAMES

#: The fields that never change the trained weights: where and how often things are written, logged or
#: shown, evaluation and hub settings, the device. Every other field counts as weight-changing (the safe
#: side: a false "changes" only costs a re-run). The resume check, the fine-tuned model's key and the
#: experiment's stage key read this list and nothing else.
WEIGHTLESS = frozenset(
    {
        # musebench's own and the MUSE recipe's
        "output_dir",
        "use_cpu",
        "save_strategy",
        "save_total_limit",
        "logging_steps",
        "report_to",
        "remove_unused_columns",
        "ddp_find_unused_parameters",
        "keep_checkpoints",
        "progress",
        "finetuned_dir",
        # Hugging Face's, at its declaration
        "overwrite_output_dir",
        "logging_dir",
        "logging_strategy",
        "logging_first_step",
        "logging_nan_inf_filter",
        "save_steps",
        "save_on_each_node",
        "save_only_model",
        "save_safetensors",
        "disable_tqdm",
        "run_name",
        "resume_from_checkpoint",
        "skip_memory_metrics",
        "log_level",
        "log_level_replica",
        "log_on_each_node",
        "dataloader_num_workers",
        "dataloader_pin_memory",
        "dataloader_persistent_workers",
        "dataloader_prefetch_factor",
        "project",
        "trackio_space_id",
        "trackio_bucket_id",
        "ddp_timeout",
        "restore_callback_states_from_checkpoint",
        "prediction_loss_only",
        "do_train",
        "do_eval",
        "do_predict",
        "per_device_eval_batch_size",
        "eval_strategy",
        "eval_steps",
        "eval_delay",
        "eval_accumulation_steps",
        "eval_do_concat_batches",
        "eval_on_start",
        "eval_use_gather_object",
        "batch_eval_metrics",
        "load_best_model_at_end",
        "metric_for_best_model",
        "greater_is_better",
        "include_for_metrics",
        "include_num_input_tokens_seen",
        "include_tokens_per_second",
        "push_to_hub",
        "hub_model_id",
        "hub_strategy",
        "hub_token",
        "hub_private_repo",
        "hub_always_push",
        "hub_revision",
        "label_names",
        "torch_empty_cache_steps",
        "use_liger_kernel",
        "liger_kernel_config",
        "dataloader_drop_last_eval",
        "local_rank",
        "ddp_backend",
        "ddp_bucket_cap_mb",
        "dataloader_multiprocessing_context",
        "debug",
        "use_cache",
        "trackio_static_space_id",
        "enable_jit_checkpoint",
    }
)


@dataclass
class UnlearnConfig(TrainingArguments):
    """Everything one unlearning request needs besides the model, the corpus and the output directory: the
    config of the methods with no fields of their own (GA, fine-tuning) and the base of every family's."""

    #: Fields whose value names a file the method reads: the stage key hashes the file's bytes, not its name.
    content_fields: ClassVar[tuple[str, ...]] = ()

    method: str = field(default="", metadata={"help": "unlearning method, a key of musebench.unlearn.METHODS"})

    # ── TrainingArguments fields whose default is the MUSE recipe's, not Hugging Face's ──
    output_dir: str | None = field(
        default=None,
        metadata={"help": "set by the run: OUT/checkpoints (the Trainer checkpoints --resume continues from)"},
    )
    learning_rate: float = field(
        default=1e-5, metadata={"help": "AdamW learning rate, constant schedule by default (MUSE: 1e-5)"}
    )
    num_train_epochs: int = field(default=10, metadata={"help": "passes over the forget set; one checkpoint per epoch"})
    per_device_train_batch_size: int = field(default=4, metadata={"help": "forget windows per device per step"})
    lr_scheduler_type: SchedulerType | str = field(default="constant", metadata={"help": "transformers scheduler name"})
    optim: OptimizerNames | str = field(default="adamw_torch", metadata={"help": "optimizer (MUSE: AdamW)"})
    seed: int = field(default=0, metadata={"help": "seed of initialisation, data order and retain pairing"})
    bf16: bool | None = field(
        default=None,
        metadata={"help": "bf16 mixed precision; unset: on a bf16-capable CUDA GPU (not with --use_cpu or --fp16)"},
    )
    use_cpu: bool = field(default=False, metadata={"help": "train on the CPU even when a GPU is there"})
    save_strategy: SaveStrategy | str = field(
        default="epoch",
        metadata={
            "help": "Trainer checkpoints for --resume: epoch (default), steps (every --save_steps) or no (saves disk: "
            "a checkpoint holds weights + optimizer); the epoch-K models are written either way"
        },
    )
    save_total_limit: int | None = field(default=1, metadata={"help": "Trainer checkpoints kept while running"})
    logging_steps: float = field(default=1, metadata={"help": "log the loss every N steps (run.json's history)"})
    report_to: None | str | list[str] = field(
        default="none", metadata={"help": "experiment trackers to report to (none, all, wandb, tensorboard, ...)"}
    )
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "keep False: the pair collator reads every column"}
    )
    ddp_find_unused_parameters: bool | None = field(
        default=False,
        metadata={
            "help": "every trainable parameter takes part in every step (RMU freezes the layers it does not train), "
            "so DDP need not search the graph for unused ones"
        },
    )

    # ── musebench's fields, shared by every method ──
    max_len: int = field(default=2048, metadata={"help": "tokens per window, BOS included"})
    alpha: float = field(
        default=1.0,
        metadata={"help": "weight of the retain term of a method that has one (GDR / KLR, RMU's activation term)"},
    )
    lora_r: int = field(default=0, metadata={"help": "LoRA rank; 0 trains all weights"})
    lora_alpha: float | None = field(default=None, metadata={"help": "LoRA scaling numerator (default 2 * lora_r)"})
    lora_dropout: float = field(default=0.0, metadata={"help": "LoRA dropout"})
    dtype: str = field(
        default="auto",
        metadata={
            "help": "weights dtype: auto = float32 master weights (bf16 mixed precision on a capable GPU, see --bf16)"
        },
    )
    loss_form: str = field(
        default="textbook",
        metadata={"help": "textbook (MUSE-SPEC) or original (the MUSE code's element-wise-logits NPO and KL)"},
    )
    keep_checkpoints: bool = field(
        default=False, metadata={"help": "keep the Trainer checkpoints (for --resume) after a finished run"}
    )
    progress: bool = field(default=True, metadata={"help": "show the progress bar and per-epoch log lines"})

    def __post_init__(self) -> None:
        if self.lora_r and self.lora_alpha is None and isinstance(self.lora_r, int):
            self.lora_alpha = 2.0 * self.lora_r
        problems = self.__dict__.pop("_family_problems", [])
        problems += list(_problems(self))
        flagged = {name for name, _, _ in problems}
        problems += _type_problems(self, flagged)
        problems += _hf_problems(self, {name for name, _, _ in problems})
        if len(problems) == 1:
            name, value, message = problems[0]
            raise ConfigError(message, field=name, value=value)
        if problems:
            raise ConfigError(
                f"invalid unlearning config, {len(problems)} problems:",
                problems=[f"{n}: {m}" + ("" if v is None else f" (got {shown_value(v)})") for n, v, m in problems],
            )

    def reject(self, *problems: tuple[str, Any, str] | None) -> None:
        """For a family's ``__post_init__`` (before ``super().__post_init__()``): its ``(field, value,
        message)`` problems, reported with every other one. ``None`` entries are checks that passed."""
        self.__dict__.setdefault("_family_problems", []).extend(p for p in problems if p is not None)

    @property
    def spec(self):  # -> Method
        from musebench.unlearn import METHODS

        return METHODS[self.method]

    def record(self) -> dict[str, Any]:
        """What ``run.json`` keeps: every field musebench declares (its own, the MUSE recipe's, the family's),
        and the other ``TrainingArguments`` fields where they differ from Hugging Face's defaults;
        ``from_record`` reads it back to the same config. ``output_dir`` is left out: the run sets it."""
        values = self._values()
        hf_defaults = _hf_defaults(self.use_cpu)
        ours = _declared_here(type(self))
        return {
            f.name: values[f.name]
            for f in config_fields(type(self))
            if f.name != "output_dir" and (f.name in ours or values[f.name] != hf_defaults.get(f.name))
        }

    def _values(self) -> dict[str, Any]:
        values = _plain(self.to_dict())
        if isinstance(values.get("accelerator_config"), dict):  # the device set-up pops this key: not a value
            values["accelerator_config"].pop("use_configured_state", None)
        return values

    def weight_values(self) -> dict[str, Any]:
        """The fields that change the weights, as plain JSON values: what a resume must not change."""
        values = self._values()
        return {name: values[name] for name in weight_fields(type(self))}

    def changed_from(self, recorded: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """``{field: (recorded value, value now)}`` for the weight-changing fields that differ from
        ``recorded`` (a ``record()`` of any musebench: old names are read through ``schema.RENAMED``, unknown ones
        are ignored; a field a record leaves out had its default)."""
        before = _plain(legacy_record(recorded, type(self)))
        defaults = _config_defaults(type(self), self.method)
        changed = {}
        for name, now in self.weight_values().items():
            then = before.get(name, defaults.get(name, _MISSING))
            if then != now:
                changed[name] = (None if then is _MISSING else then, now)
        return dict(sorted(changed.items()))

    @staticmethod
    def from_record(data: dict[str, Any]) -> UnlearnConfig:
        """The config a ``run.json`` records (``record()`` of this or an earlier musebench) of its method."""
        cls = config_class(data.get("method"))
        return config_from_mapping(legacy_record(data, cls), config_class=cls)

    @classmethod
    def from_dict(cls, data: dict[str, Any], file: str | Path | None = None) -> UnlearnConfig:
        """Build the config of ``data["method"]`` from a mapping of field names (YAML / JSON)."""
        return config_from_mapping(data, file=file)


_MISSING = object()


def config_class(method: str) -> type[UnlearnConfig]:
    """The config class of a method name (a ``ConfigError`` naming ``method`` when there is none)."""
    from musebench.unlearn import METHODS

    if not isinstance(method, str) or method not in METHODS:
        raise ConfigError(f"unknown method; choose one of {', '.join(METHODS)}", field="method", value=method)
    return METHODS[method].config_class


def config_for(method: str, **values: Any) -> UnlearnConfig:
    """``METHODS[method]``'s config class built from ``values`` (field names; every problem in one error)."""
    return config_from_mapping({**values, "method": method})


def config_from_mapping(
    data: dict[str, Any],
    file: str | Path | None = None,
    where: str = "",
    config_class: type[UnlearnConfig] | None = None,
) -> UnlearnConfig:
    """The config of ``data["method"]`` (or of ``config_class``) from a mapping of field names, through
    ``HfArgumentParser.parse_dict``. An unknown key is one ``ConfigError`` naming it (``where``: the YAML path
    it sits under, e.g. ``methods.ga``)."""
    from transformers import HfArgumentParser

    cls = config_class or globals()["config_class"](data.get("method"))
    check_keys(data, cls, file, where)
    try:
        (config,) = HfArgumentParser(cls).parse_dict(dict(data))
    except ConfigError as err:
        if where:  # "beta: ..." -> "methods.npo.beta: ..."
            err.field = _path(where, err.field) if err.field else None
            err.problems = [_path(where, p) for p in err.problems]
        if file is not None and err.file is None:
            err.file = str(file)
        err.args = (err._format(),)
        raise
    return config


def check_keys(data: dict[str, Any], cls: type[UnlearnConfig], file: str | Path | None = None, where: str = "") -> None:
    """Refuse a key that is not a field of ``cls`` (and ``output_dir``, which the run sets): one
    ``ConfigError`` naming each, under the YAML path ``where``."""
    unknown = sorted(set(map(str, data)) - {f.name for f in config_fields(cls)} | ({"output_dir"} & set(data)))
    if unknown:
        problems = [f"{_path(where, key)}: {_unknown(key, cls)}" for key in unknown]
        raise (
            ConfigError(problems[0], file=file)
            if len(problems) == 1
            else ConfigError(f"{len(problems)} unknown unlearning options:", file=file, problems=problems)
        )


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _unknown(key: str, cls: type[UnlearnConfig]) -> str:
    if key == "output_dir":
        return "set by the run (OUT/checkpoints), not an option"
    renamed = renames_for(cls)
    if key in renamed:
        return f"unknown option of {cls.__name__}; it is called '{renamed[key]}' now"
    close = difflib.get_close_matches(key, sorted(f.name for f in config_fields(cls)), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see 'musebench unlearn --method M --help'"
    return f"unknown option of {cls.__name__}{hint}"


def legacy_record(data: dict[str, Any], cls: type[UnlearnConfig]) -> dict[str, Any]:
    """A recorded config with the names of earlier versions (``schema.RENAMED``) replaced, for ``cls``: keys ``cls``
    does not declare are dropped (an old record listed every family's fields), and a ``null`` where the field
    is no longer optional means "the method's default" (what earlier records wrote)."""
    renamed = renames_for(cls)
    fields = {f.name: f for f in config_fields(cls)}
    hints = _hints(cls)
    out: dict[str, Any] = {}
    old = []
    for key, value in data.items():
        name = renamed.get(key, key)
        if name != key:
            old.append(key)
        if name in fields and not (value is None and not _optional(hints[name])):
            out[name] = value
    if old:
        warnings.warn(
            f"run.json uses the names of an earlier musebench ({', '.join(sorted(old))}); they are read "
            "as today's, which a new run writes",
            FutureWarning,
            stacklevel=2,
        )
    return out


def _optional(annotation) -> bool:
    import types
    import typing

    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(
        annotation
    )


def config_fields(cls: type[UnlearnConfig] = UnlearnConfig) -> tuple[dataclasses.Field, ...]:
    """The fields a user sets (``init`` fields: ``TrainingArguments``', musebench's and the family's; not the
    deprecated names Hugging Face mirrors into newer ones)."""
    return tuple(f for f in dataclasses.fields(cls) if f.init and f.name not in _MIRRORS)


_HF_FIELDS = {f.name for f in dataclasses.fields(TrainingArguments)}
#: Deprecated Hugging Face names that mirror a newer field (``__post_init__`` copies it): not fields of their own.
_MIRRORS = (
    {"gradient_checkpointing", "gradient_checkpointing_kwargs"} if "activation_checkpointing" in _HF_FIELDS else set()
)


def changes_weights(name: str) -> bool:
    """Whether the config field ``name`` can change the trained weights (it is not in ``WEIGHTLESS``)."""
    return name not in WEIGHTLESS


def weight_fields(cls: type[UnlearnConfig] = UnlearnConfig) -> tuple[str, ...]:
    return tuple(f.name for f in config_fields(cls) if changes_weights(f.name))


def recipe_fields() -> tuple[str, ...]:
    """The weight-changing fields of the training recipe itself: ``UnlearnConfig``'s without the method and
    its retain weight (no family's own): they decide θ_ft, the fine-tuned model of Task Vector / WHP."""
    return tuple(n for n in weight_fields(UnlearnConfig) if n not in ("method", "alpha"))


def key_fields(
    values: dict[str, Any], cls: type[UnlearnConfig] | None = None, only: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """A request's fields (validated, so every key is a field of its config class) reduced to those that
    change the weights (``only``: and among these): the part of a cache key that must differ when the
    checkpoints would. A field naming a file the method reads (``cls.content_fields``, ``cls`` by default the
    method's) counts by the file's bytes, not its name."""
    from musebench.unlearn import METHODS

    if cls is None:
        method = values.get("method")
        cls = METHODS[method].config_class if isinstance(method, str) and method in METHODS else UnlearnConfig
    kept = {k: v for k, v in _plain(values).items() if changes_weights(k) and (only is None or k in only)}
    for name in cls.content_fields:
        if kept.get(name):
            kept[name] = {"path": kept[name], "sha256": _file_digest(kept[name])}
    return kept


def _file_digest(path: str) -> str | None:
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None  # the config check reports the missing file


# ── validation ─────────────────────────────────────────────────────────────────────────────────────────


def check_number(
    config, name: str, minimum: float | None = None, above: bool = False, optional: bool = False
) -> tuple[str, Any, str] | None:
    """A family's check of a finite number (at least / above ``minimum``); ``None`` when the value is fine."""
    value = getattr(config, name)
    if optional and value is None:
        return None
    ok = _finite(value) and (minimum is None or (value > minimum if above else value >= minimum))
    bound = "" if minimum is None else f" {'>' if above else '>='} {minimum:g}"
    return None if ok else (name, value, f"must be a finite number{bound}")


def check_integer(config, name: str, minimum: int, optional: bool = False) -> tuple[str, Any, str] | None:
    """A family's check of an integer >= ``minimum``; ``None`` when the value is fine."""
    value = getattr(config, name)
    if optional and value is None:
        return None
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    return None if ok else (name, value, f"must be an integer >= {minimum}")


def _problems(c: UnlearnConfig):
    """The shared checks, before ``TrainingArguments`` converts anything: (field, value, message) triples."""
    from musebench.unlearn import METHODS

    if not isinstance(c.method, str) or c.method not in METHODS:
        yield "method", c.method, f"unknown method; choose one of {', '.join(METHODS)}"
    else:
        try:
            cls = METHODS[c.method].config_class
        except ConfigError as err:  # a broken plugin: its error names the package
            yield "method", c.method, err.message
        else:
            if not isinstance(c, cls):
                yield "method", c.method, f"its config is {cls.__name__}, not {type(c).__name__}"
    for name in ("num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps"):
        value = getattr(c, name)
        if isinstance(value, float) and value.is_integer() and value >= 1:
            setattr(c, name, int(value))  # YAML's 10.0, a record's float: the same integer
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            yield name, value, "must be an integer >= 1"
    if not isinstance(c.max_len, int) or isinstance(c.max_len, bool) or c.max_len < 2:
        yield "max_len", c.max_len, "must be an integer >= 2 (BOS plus at least one token)"
    if not _finite(c.learning_rate) or c.learning_rate <= 0:
        yield "learning_rate", c.learning_rate, "must be a finite number > 0"
    for name in ("max_grad_norm", "weight_decay", "lora_dropout", "warmup_steps"):
        value = getattr(c, name)
        if not _finite(value) or value < 0:
            yield name, value, "must be a finite number >= 0"
    for name in ("alpha", "lora_alpha"):
        value = getattr(c, name)
        if value is not None and (not _finite(value) or value <= 0):
            yield name, value, "must be a finite number > 0"
    if not isinstance(c.lora_r, int) or isinstance(c.lora_r, bool) or c.lora_r < 0:
        yield "lora_r", c.lora_r, "must be an integer >= 0"
    if not isinstance(c.max_steps, int) or c.max_steps == 0 or c.max_steps < -1:
        yield "max_steps", c.max_steps, "must be -1 (all epochs) or an integer >= 1"
    if c.loss_form not in LOSS_FORMS:
        yield "loss_form", c.loss_form, f"choose one of {', '.join(LOSS_FORMS)}"
    if c.dtype not in DTYPE_NAMES:
        yield "dtype", c.dtype, f"choose one of {', '.join(DTYPE_NAMES)}"
    schedulers = tuple(s.value for s in SchedulerType)
    if getattr(c.lr_scheduler_type, "value", c.lr_scheduler_type) not in schedulers:
        yield "lr_scheduler_type", c.lr_scheduler_type, f"choose one of {', '.join(schedulers)}"
    if not isinstance(c.seed, int) or isinstance(c.seed, bool) or not 0 <= c.seed < 2**32:
        yield "seed", c.seed, "must be an integer in [0, 2**32)"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _type_problems(c: UnlearnConfig, flagged: set[str]) -> list[tuple[str, Any, str]]:
    """Values of a type their field does not declare (a YAML list where a name goes), named before
    ``TrainingArguments.__post_init__`` trips over them."""
    problems = []
    for f in config_fields(type(c)):
        value = getattr(c, f.name)
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if (
            f.name in flagged
            or value is default
            or value == default
            or type(value) not in (str, int, float, bool, list, dict)
        ):  # an object: made by code, not by YAML
            continue
        allowed = _plain_types(_hints(type(c))[f.name])
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


def _hf_problems(c: UnlearnConfig, flagged: set[str]) -> list[tuple[str, Any, str]]:
    """What ``TrainingArguments.__post_init__`` rejects, with the fields we already reported at their defaults
    (so one bad value is reported once, and the others are still checked)."""
    defaults = {f.name: f for f in config_fields(type(c))}
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


def _config_defaults(cls: type[UnlearnConfig], method: str) -> dict[str, Any]:
    """``cls``'s own defaults (the MUSE recipe's and the family's where they re-declare a field), as plain values."""
    if cls not in _DEFAULTS:
        _DEFAULTS[cls] = cls(method=method)._values()
        _DEFAULTS[cls].pop("method")
    return _DEFAULTS[cls]


def declared_fields(cls: type) -> tuple[dataclasses.Field, ...]:
    """The fields musebench declares or re-declares (its own class and the family's), not Hugging Face's."""
    hf = {f.name: f for f in dataclasses.fields(TrainingArguments)}
    return tuple(
        f
        for f in dataclasses.fields(cls)
        if f.name not in hf
        or f.default != hf[f.name].default
        or f.metadata.get("help") != hf[f.name].metadata.get("help")
    )


def _declared_here(cls: type) -> set[str]:
    return {f.name for f in declared_fields(cls)}


def _hints(cls: type) -> dict[str, Any]:
    import typing

    if cls not in _TYPE_HINTS:
        _TYPE_HINTS[cls] = typing.get_type_hints(cls)
    return _TYPE_HINTS[cls]


_TYPE_HINTS: dict[type, dict[str, Any]] = {}
_HF_DEFAULTS: dict[bool, dict[str, Any]] = {}
_DEFAULTS: dict[type, dict[str, Any]] = {}


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
        raise ConfigError(
            f"run has no checkpoint '{label}'; it has {', '.join(c.label for c in self.checkpoints)}",
            file=self.out_dir,
            value=label,
        )


def own_fields(cls: type[UnlearnConfig]) -> tuple[dataclasses.Field, ...]:
    """The fields a family's config class adds or re-declares beyond ``UnlearnConfig`` (its own flags)."""
    base = {f.name: f for f in dataclasses.fields(UnlearnConfig)}
    return tuple(
        f
        for f in dataclasses.fields(cls)
        if f.init
        and (
            f.name not in base
            or f.default != base[f.name].default
            or f.metadata.get("help") != base[f.name].metadata.get("help")
        )
    )
