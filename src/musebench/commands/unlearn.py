"""Run an unlearning method on a model: one Hugging Face model per epoch (or per alpha) and run.json.

A method's config is a ``transformers.TrainingArguments`` subclass (``NPOConfig`` ...): ``HfArgumentParser``
makes every field of the chosen method's class a flag under its Hugging Face name (``--learning_rate``,
``--optim``, ``--adam_beta2``, ``--report_to`` ...), beside musebench's (``--max_len``, ``--alpha``) and the
family's own (``--beta`` for NPO; ``musebench unlearn --method npo --help`` lists them). ``--config FILE``
reads the same fields from YAML; flags override the file; an unknown flag or key is an error naming it.
Defaults are the original MUSE recipe for Llama-2-7B (AdamW, lr 1e-5 constant, clip 1.0, 10 epochs, batches
of 4 x 2048 tokens).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
from pathlib import Path

from transformers import HfArgumentParser

from musebench.commands.common import add_out, add_threads, check_model_arg, set_threads
from musebench.errors import ConfigError
from musebench.unlearn import METHODS

EXAMPLES = """examples:
  musebench unlearn --model models/target --data data/news-mini --method npo_gdr --out runs/npo_gdr
  musebench unlearn --model models/target --data data/news-mini --method ga --num_train_epochs 5 \\
      --learning_rate 1e-4 --per_device_train_batch_size 8 --max_len 256 --out runs/ga
  musebench unlearn ... --method npo --beta 0.2 --optim adamw_torch_fused --adam_beta2 0.95
  musebench unlearn --model runs/sust1/epoch-3 --reference runs/sust1/epoch-3 --data data/news-mini \\
      --forget-split sust/forget_2 --method npo_klr --out runs/sust2
  musebench unlearn ... --out runs/npo_gdr --resume      # continue an interrupted run
  musebench unlearn --method npo --help                  # NPO's own flags, then the shared ones
"""

#: Files whose presence proves an --out is a musebench run directory.
RUN_RECORDS = ("run.json", "whp.json")
KIND = "unlearning run"  # the kind its --out is marked with (musebench.io.KINDS)
#: This command takes the method config's flags after its own (``cli`` hands them over unparsed).
TAKES_OPTIONS = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.allow_abbrev = False  # a config flag must never be read as an abbreviation of a command flag
    p.add_argument(
        "-h",
        "--help",
        action=_MethodHelp,
        nargs=0,
        help="show this help (with --method M first: and M's config flags) and exit",
    )
    p.add_argument("--model", required=True, help="start model: a Hugging Face directory (the target)")
    p.add_argument("--data", required=True, help="corpus: a MUSE release directory or a hub dataset name")
    p.add_argument(
        "--method", required=True, choices=list(METHODS), metavar="METHOD", help="one of: " + ", ".join(METHODS)
    )
    add_out(p, help="run directory: epoch-K/ (or alpha-A/) models and run.json")
    p.add_argument(
        "--forget-split", default="forget", help="forget (default), scal/forget_K (C5) or sust/forget_K (C6)"
    )
    p.add_argument(
        "--reference",
        default=None,
        help="reference model of the NPO / KL terms (default: the start model; C6: previous stage)",
    )
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--force", action="store_true", help="write into an --out that holds other files (they are kept)")
    p.add_argument(
        "--allow-hub-push",
        action="store_true",
        help="let push_to_hub upload the model (needs a token: --hub_token or HF_TOKEN); refused "
        "otherwise, before any work",
    )
    p.add_argument("--config", default=None, help="YAML file of the method config's fields (flags override it)")
    add_threads(p)
    p.usage = "musebench unlearn --model DIR --data DIR --method METHOD --out DIR [--config YAML] [config flags]"


class _MethodHelp(argparse.Action):
    """``--help``: the command's flags, then (``--method`` given before it) the method config's own flags and the
    shared ones, as ``HfArgumentParser`` reads them."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.print_help()
        method = getattr(namespace, "method", None)
        if method in METHODS:
            print("\n" + method_help(method))
        else:
            print("\nconfig flags: put --method M before --help to list M's")
        parser.exit()


def method_help(method: str) -> str:
    """The flags of ``method``'s config class: its own first, then musebench's shared ones."""
    from musebench.unlearn.config import UnlearnConfig, declared_fields, own_fields

    cls = METHODS[method].config_class
    own = [f for f in own_fields(cls) if f.name != "method"]
    shared = [
        f
        for f in declared_fields(UnlearnConfig)
        if f.name not in {o.name for o in own} and f.name not in ("method", "output_dir")
    ]
    lines = [f"{method} options ({cls.__name__}):"] + [_flag_line(f) for f in own]
    lines += ["", "shared options (UnlearnConfig: musebench's, and the MUSE recipe's defaults):"]
    lines += [_flag_line(f) for f in shared]
    lines += [
        "",
        "and every other transformers.TrainingArguments field under its name (--adam_beta2, --warmup_steps,",
        "--gradient_accumulation_steps, --max_steps, --weight_decay, --torch_compile ...)",
    ]
    return "\n".join(lines)


def _flag_line(f) -> str:
    default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    shown = (
        "unset"
        if default is None
        else " ".join(map(str, default))
        if isinstance(default, list)
        else getattr(default, "value", default)
    )
    return f"  --{f.name:<24} {f.metadata.get('help', '')} (default: {shown})"


class _OptionParser(HfArgumentParser):
    """``HfArgumentParser`` over one config class whose flag errors are a ``ConfigError`` (one line, exit 2)."""

    def error(self, message):
        raise ConfigError(message.replace("argument ", "flag ", 1))


def config_from_args(args: argparse.Namespace):
    """The method's config from a parsed command line: ``--config``'s YAML, then the config flags over it."""
    from musebench.unlearn.config import check_keys, config_class, config_fields

    cls = config_class(args.method)
    options = list(getattr(args, "options", None) or [])
    for word in options:
        if word.split("=")[0] in ("--output_dir", "--output-dir"):
            raise ConfigError("--output_dir is set by the run (OUT/checkpoints), not an option")
    in_file = _read_yaml(args.config) if args.config else {}
    check_keys(in_file, cls, file=args.config)
    parser = _OptionParser(cls, allow_abbrev=False)
    parser.set_defaults(**in_file, method=args.method)  # the file's values; a typed flag overrides one
    try:
        config, rest = parser.parse_args_into_dataclasses(args=options, return_remaining_strings=True)
    except ConfigError as err:
        if (
            args.config
            and err.file is None
            and (err.field in in_file or any(f"'{key}'" in p for p in err.problems for key in in_file))
        ):
            err.file = args.config
            err.args = (err._format(),)
        raise
    if rest:
        flags = sorted({f"--{f.name}" for f in config_fields(cls)})
        close = difflib.get_close_matches(rest[0].split("=")[0], flags, n=3)
        hint = (
            f"; did you mean {', '.join(close)}?"
            if close
            else f"; see 'musebench unlearn --method {args.method} --help'"
        )
        raise ConfigError(f"unknown option {rest[0]} of {cls.__name__}{hint}")
    check_hub_push(config, getattr(args, "allow_hub_push", False))
    return config


def check_hub_push(config, allowed: bool) -> None:
    """``push_to_hub`` reaches the network: refused unless asked for (``--allow-hub-push``) with a token."""
    if not getattr(config, "push_to_hub", False):
        return
    if not allowed:
        raise ConfigError(
            "would upload the model to the Hugging Face Hub; musebench runs offline unless "
            "--allow-hub-push is given (with a token: --hub_token or HF_TOKEN)",
            field="push_to_hub",
        )
    import os

    if not (
        getattr(config, "hub_token", None) or os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    ):
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
    claim = output_dir(args.out, kind=KIND, force=args.force) if is_main_process() else contextlib.nullcontext()
    with claim:
        result = run_unlearning(
            args.model,
            corpus,
            config,
            args.out,
            forget_split=args.forget_split,
            reference_dir=args.reference,
            resume=args.resume,
        )
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


def _read_yaml(path: str) -> dict:
    from musebench.io import read_yaml

    file = Path(path)
    if not file.is_file():
        raise ConfigError("config file does not exist", file=file)
    data = read_yaml(file, "config file") or {}
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of the method config's fields", file=file, value=type(data).__name__)
    return data
