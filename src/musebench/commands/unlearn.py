"""Run an unlearning method on a model: one Hugging Face model per epoch (or per alpha) and run.json.

Every field of ``UnlearnConfig`` is a flag (``--batch-size`` for ``batch_size``); ``--config FILE`` reads
the same fields from YAML, and flags override the file. Defaults are the original MUSE recipe for
Llama-2-7B (AdamW, lr 1e-5 constant, clip 1.0, 10 epochs, batches of 4 x 2048 tokens).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from pathlib import Path

from musebench.commands.common import add_out, add_threads, set_threads
from musebench.errors import ConfigError
from musebench.unlearn import METHODS
from musebench.unlearn.config import UnlearnConfig, field_help

EXAMPLES = """examples:
  musebench unlearn --model models/target --data data/news-mini --method npo_gdr --out runs/npo_gdr
  musebench unlearn --model models/target --data data/news-mini --method ga --epochs 5 --lr 1e-4 \\
      --batch-size 8 --max-len 256 --out runs/ga
  musebench unlearn --model runs/sust1/epoch-3 --reference runs/sust1/epoch-3 --data data/news-mini \\
      --forget-split sust/forget_2 --method npo_klr --out runs/sust2
  musebench unlearn ... --out runs/npo_gdr --resume      # continue an interrupted run
"""

#: Files whose presence proves an --out is a musebench run directory.
RUN_RECORDS = ("run.json", "whp.json")

_SCALARS = {"int": int, "float": float, "str": str, "int | None": int, "float | None": float, "str | None": str}


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
                   help="write into an --out that holds other files (they are kept; same names are replaced)")
    p.add_argument("--config", default=None, help="YAML file of unlearning options (flags override it)")
    add_threads(p)
    group = p.add_argument_group("unlearning options")
    group.add_argument("--method-option", dest="method_option", action="append", default=[], type=_option,
                       metavar="KEY=VALUE", help=field_help("method_options") + " (repeatable)")
    for f in dataclasses.fields(UnlearnConfig):
        if f.name in ("method", "method_options"):
            continue
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        if f.type == "bool":
            if f.default:
                group.add_argument("--no-" + f.name.replace("_", "-"), dest=f.name, action="store_false",
                                   default=None, help=f"do not: {help_text}")
            else:
                group.add_argument(flag, dest=f.name, action="store_true", default=None, help=help_text)
        elif f.type in _SCALARS:
            shown = f.default if f.default is not None else "method default"
            group.add_argument(flag, dest=f.name, type=_SCALARS[f.type], default=None,
                               help=f"{help_text} (default {shown})")
        else:  # the tuple of alphas
            group.add_argument(flag, dest=f.name, type=_float_list, default=None,
                               help=f"{help_text}, comma-separated (default {','.join(map(_num, f.default))})")


def run(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    values = _read_yaml(args.config) if args.config else {}
    for f in dataclasses.fields(UnlearnConfig):
        if f.name != "method" and getattr(args, f.name, None) is not None:
            values[f.name] = getattr(args, f.name)
    if args.method_option:  # flags override the file's options key by key (a non-mapping is reported below)
        in_file = values.get("method_options") or {}
        values["method_options"] = {**in_file, **dict(args.method_option)} if isinstance(in_file, dict) else in_file
    values["method"] = args.method
    config = UnlearnConfig.from_dict(values, file=args.config)

    from musebench.data import load_corpus
    from musebench.io import check_output_dir, output_dir
    from musebench.unlearn import run_unlearning
    from musebench.unlearn.finetuned import is_main_process

    check_output_dir(args.out, owned_if=RUN_RECORDS, force=args.force)  # before any model loads
    corpus = load_corpus(args.data)
    # one writer per run directory: the main process holds its lock (the others of a launch write nothing)
    claim = output_dir(args.out, owned_if=RUN_RECORDS, force=args.force) if is_main_process() \
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


def _option(text: str) -> tuple[str, object]:
    from musebench.unlearn.method_options import parse_option

    try:
        return parse_option(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _float_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from err
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def _num(x: float) -> str:
    return f"{x:g}"


def _read_yaml(path: str) -> dict:
    import yaml

    file = Path(path)
    if not file.is_file():
        raise ConfigError("config file does not exist", file=file)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"not valid YAML: {str(err).splitlines()[0]}", file=file) from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"not UTF-8 text (byte {err.start})", file=file) from err
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of unlearning options", file=file, value=type(data).__name__)
    return data
