"""Run an unlearning method on a model: one Hugging Face model per epoch (or per alpha) and run.json.

``UnlearnConfig`` is a ``transformers.TrainingArguments``: ``HfArgumentParser`` makes every field a flag
under its Hugging Face name (``--learning_rate``, ``--optim``, ``--adam_beta2``, ``--torch_compile``,
``--report_to`` ...), beside musebench's own (``--max_len``, ``--beta``, ``--rmu_layer`` ...). The old short
names stay as flags (``--lr``, ``--epochs``, ``--batch-size``, ``--device``, ``--checkpoint-steps``: the
``ALIASES`` table of ``unlearn/config.py``). ``--config FILE`` reads the same fields (either name) from
YAML, and flags override the file. Defaults are the original MUSE recipe for Llama-2-7B (AdamW, lr 1e-5
constant, clip 1.0, 10 epochs, batches of 4 x 2048 tokens).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import re
import typing
from pathlib import Path

from musebench.commands.common import add_out, add_threads, check_model_arg, set_threads
from musebench.errors import ConfigError
from musebench.unlearn import METHODS

EXAMPLES = """examples:
  musebench unlearn --model models/target --data data/news-mini --method npo_gdr --out runs/npo_gdr
  musebench unlearn --model models/target --data data/news-mini --method ga --num_train_epochs 5 \\
      --learning_rate 1e-4 --per_device_train_batch_size 8 --max_len 256 --out runs/ga
  musebench unlearn ... --method ga --epochs 5 --lr 1e-4 --batch-size 8 --max-len 256   # the short names
  musebench unlearn ... --optim adamw_torch_fused --adam_beta2 0.95 --report_to tensorboard
  musebench unlearn --model runs/sust1/epoch-3 --reference runs/sust1/epoch-3 --data data/news-mini \\
      --forget-split sust/forget_2 --method npo_klr --out runs/sust2
  musebench unlearn ... --out runs/npo_gdr --resume      # continue an interrupted run
"""

#: Files whose presence proves an --out is a musebench run directory.
RUN_RECORDS = ("run.json", "whp.json")
KIND = "unlearning run"  # the kind its --out is marked with (musebench.io.KINDS)
#: Config fields that are not flags of their own: --method is the command's, output_dir is --out/checkpoints,
#: --debug is musebench's (tracebacks; Hugging Face's ``debug`` options stay reachable in --config YAML).
NOT_FLAGS = ("method", "output_dir", "debug", "method_options")  # method_options: --method-option KEY=VALUE


class _Unset:
    """The default of every option flag, so the command knows which flags were typed (they override --config)."""

    def __repr__(self) -> str:
        return "unset"

    def __bool__(self) -> bool:
        return False


UNSET = _Unset()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="start model: a Hugging Face directory (the target)")
    p.add_argument("--data", required=True, help="corpus: a MUSE release directory or a hub dataset name")
    p.add_argument("--method", required=True, choices=list(METHODS), metavar="METHOD",
                   help="one of: " + ", ".join(METHODS))
    add_out(p, help="run directory: epoch-K/ (or alpha-A/) models and run.json")
    p.add_argument("--forget-split", default="forget",
                   help="forget (default), scal/forget_K (C5) or sust/forget_K (C6)")
    p.add_argument("--reference", default=None,
                   help="reference model of the NPO / KL terms (default: the start model; C6: previous stage)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--force", action="store_true",
                   help="write into an --out that holds other files (they are kept)")
    p.add_argument("--allow-hub-push", action="store_true",
                   help="let push_to_hub upload the model (needs a token: --hub_token or HF_TOKEN); refused "
                        "otherwise, before any work")
    p.add_argument("--config", default=None, help="YAML file of unlearning options, Hugging Face or short names "
                                                  "(flags override it)")
    add_threads(p)
    p.usage = "musebench unlearn --model DIR --data DIR --method METHOD --out DIR [--config YAML] [options]"
    p.formatter_class = _OneSpellingFormatter
    add_config_flags(p.add_argument_group(
        "unlearning options", "transformers.TrainingArguments fields under their Hugging Face names, then "
        "musebench's; each also as --name-with-dashes, and the old short names (--lr, --epochs, --batch-size, "
        "--grad-accum, --lr-scheduler, --gradient-checkpointing, --device, --mixed-precision, --checkpoint-steps)"))


class _OneSpellingFormatter(argparse.RawDescriptionHelpFormatter):
    """Help lists ``--max_len`` once, not beside its ``--max-len`` twin (both are accepted)."""

    def _format_action_invocation(self, action):
        strings = action.option_strings
        if len(strings) > 1:
            kept = [o for o in strings if "-" not in o[2:] or "--" + o[2:].replace("-", "_") not in strings]
            action = copy.copy(action)
            action.option_strings = kept
        return super()._format_action_invocation(action)


def add_config_flags(group) -> None:
    """Every ``UnlearnConfig`` field as the flag ``HfArgumentParser`` makes of it, plus the ``ALIASES``."""
    from transformers import HfArgumentParser

    from musebench.unlearn.config import ALIASES, UnlearnConfig, config_fields

    hints = typing.get_type_hints(UnlearnConfig)
    fields = {f.name: f for f in config_fields()}
    for f in config_fields():
        if f.name in NOT_FLAGS:
            continue
        f = copy.copy(f)
        f.type = hints[f.name]
        shown = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        metadata = {"help": f.metadata.get("help", "")}  # "weights", a method's "check": ours, not argparse's
        text = metadata.get("help", "")
        text += "" if shown is None else f" (default: {_shown(shown)})"
        choices = _choices(f.type)
        text += f"; one of: {', '.join(choices)}" if choices else ""
        metadata["help"] = re.sub(r"(?<!%)%(?!%)", "%%", text)
        if f.type not in (bool, bool | None):  # a bool's --no_ twin takes no metavar
            metadata["metavar"] = _metavar(f.name)
        f.metadata = metadata
        before = len(group._group_actions)
        if f.type == bool | None and f.default is None:  # an unset choice (bf16: the machine decides): a bare
            group.add_argument(*_spellings(f.name), dest=f.name, nargs="?",
                               const=True, type=_bool, help=metadata["help"], metavar="BOOL")  # flag is true, as for bools
        elif typing.get_origin(f.type) is dict:
            group.add_argument(*_spellings(f.name), dest=f.name, type=_json_mapping, metavar="JSON",
                               help=metadata["help"])
        else:
            HfArgumentParser._parse_dataclass_field(group, f)
        for action in group._group_actions[before:]:
            action.default = UNSET
            if action.nargs == "+" and action.type is float:  # --alphas 1 2 4, or the old 1,2,4
                action.type = _floats
    group.add_argument("--method-option", "--method_option", dest="method_option", action="append", default=[],
                       type=_option, metavar="KEY=VALUE",
                       help="an option of the method's own options dataclass (plugins; see 'musebench ls methods'); "
                            "repeatable, overrides --config's method_options key by key")
    for alias in ALIASES.values():  # their own dests, so an error names the flag the user typed
        if alias.convert is not None:
            group.add_argument(*_spellings(alias.name), dest=f"_alias_{alias.name}", type=alias.flag_type,
                               default=UNSET, help=f"short for: {alias.help}", metavar=alias.name.upper())
            continue
        target = copy.copy(fields[alias.target])
        target.type = hints[alias.target]
        kind = _bool if target.type in (bool, bool | None) else target.type
        kind = next((t for t in typing.get_args(kind) if t is not type(None)), kind) \
            if typing.get_origin(kind) is not None else kind
        group.add_argument(*_spellings(alias.name), dest=f"_alias_{alias.name}", default=UNSET,
                           type=_enum_value(kind), help=f"short for --{alias.target}", metavar=alias.name.upper(),
                           **({"nargs": "?", "const": True} if kind is _bool else {}))


def config_from_args(args: argparse.Namespace):
    """The ``UnlearnConfig`` of a parsed command line: ``--config``'s YAML, then every typed flag over it."""
    from musebench.unlearn.config import ALIASES, UnlearnConfig, config_fields

    values = {}
    for f in config_fields():
        value = getattr(args, f.name, UNSET)
        if f.name not in NOT_FLAGS and value is not UNSET:
            if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
                value = [x for part in value for x in part]
            values[f.name] = value
    for alias in ALIASES.values():
        value = getattr(args, f"_alias_{alias.name}", UNSET)
        if value is not UNSET:
            values.pop(alias.target, None)  # the short flag and the long one: the short one, as typed
            values[alias.name] = value  # mapped (and checked) by from_layers
    values["method"] = args.method
    in_file = _read_yaml(args.config) if args.config else {}
    if getattr(args, "method_option", None):  # key by key over the file's (a non-mapping is reported by the config)
        base = in_file.get("method_options") or {}
        values["method_options"] = {**base, **dict(args.method_option)} if isinstance(base, dict) else base
    config = UnlearnConfig.from_layers(in_file, values, file=args.config)
    check_hub_push(config, getattr(args, "allow_hub_push", False))
    return config


def check_hub_push(config, allowed: bool) -> None:
    """``push_to_hub`` reaches the network: refused unless asked for (``--allow-hub-push``) with a token."""
    if not getattr(config, "push_to_hub", False):
        return
    if not allowed:
        raise ConfigError("would upload the model to the Hugging Face Hub; musebench runs offline unless "
                          "--allow-hub-push is given (with a token: --hub_token or HF_TOKEN)", field="push_to_hub")
    import os

    if not (getattr(config, "hub_token", None) or os.environ.get("HF_TOKEN")
            or os.environ.get("HUGGING_FACE_HUB_TOKEN")):
        raise ConfigError("--allow-hub-push needs a token: set --hub_token or HF_TOKEN", field="push_to_hub")


def run(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    config = config_from_args(args)  # the method and its options first (a broken plugin names itself)
    check_model_arg(args.model)  # a mistyped local path fails now, offline, before any work
    check_model_arg(args.reference, "--reference")

    from musebench.data import load_corpus
    from musebench.io import check_output_dir, output_dir
    from musebench.unlearn import run_unlearning
    from musebench.unlearn.edit.finetune import is_main_process

    check_output_dir(args.out, kind=KIND, force=args.force)  # before any model loads
    corpus = load_corpus(args.data)
    # one writer per run directory: the main process holds its lock (the others of a launch write nothing)
    claim = output_dir(args.out, kind=KIND, force=args.force) if is_main_process() \
        else contextlib.nullcontext()
    with claim:
        result = run_unlearning(args.model, corpus, config, args.out, forget_split=args.forget_split,
                                reference_dir=args.reference, resume=args.resume)
    if not is_main_process():  # under accelerate launch / torchrun every process returns the same run
        return 0
    epochs = {f"epoch-{e['epoch']}": e for e in result.history.get("epochs", [])}
    print(f"{config.method} on {corpus.name}/{args.forget_split}: {len(result.checkpoints)} checkpoint(s)")
    for ckpt in result.checkpoints:
        summary = epochs.get(ckpt.label)
        loss = f"  mean loss {summary['loss']:.4f}" if summary else ""
        print(f"  {ckpt.label:<10} {ckpt.path}{loss}")
    print(f"run record: {result.run_json}")
    return 0


def _spellings(name: str) -> list[str]:
    """``--max_len`` and ``--max-len``, as ``HfArgumentParser`` spells a field's flag."""
    return [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])


def _enum_value(kind):
    """An Enum field's flag takes the value's string (``--lr_scheduler linear``), as HfArgumentParser's does."""
    import enum

    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return str
    return kind


def _choices(kind) -> list[str]:
    """The values of an Enum field (``optim``, ``lr_scheduler_type`` ...), shown in its help."""
    import enum

    for part in typing.get_args(kind) or (kind,):
        if isinstance(part, type) and issubclass(part, enum.Enum):
            return [m.value for m in part]
    return []


def _metavar(name: str) -> str:
    return name.upper()


def _shown(value) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) or "none"
    if value is None:
        return "unset"
    return str(getattr(value, "value", value))


def _option(text: str) -> tuple[str, object]:
    from musebench.unlearn.method_options import parse_option

    try:
        return parse_option(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected numbers, got {text!r}") from err
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def _bool(text: str) -> bool:
    from transformers.hf_argparser import string_to_bool

    return string_to_bool(text)


def _json_mapping(text: str) -> dict:
    import json

    try:
        value = json.loads(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a JSON mapping, got {text!r}") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON mapping, got {text!r}")
    return value


def _read_yaml(path: str) -> dict:
    from musebench.io import read_yaml

    file = Path(path)
    if not file.is_file():
        raise ConfigError("config file does not exist", file=file)
    data = read_yaml(file, "config file") or {}
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of unlearning options", file=file, value=type(data).__name__)
    return data
