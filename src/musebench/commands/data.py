"""Generate, validate or show a MUSE corpus.

A corpus is a directory in the release layout (raw/, verbmem/, knowmem/, privleak/, scal/, sust/; each file
.json, .jsonl or .txt), a folder of hub-style parquet files, or a hub dataset name such as
muse-bench/MUSE-News.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from musebench.commands.common import add_out, add_seed
from musebench.errors import ConfigError

EXAMPLES = """examples:
  musebench data generate --corpus news-mini --size small --seed 0 --out data/news-mini
  musebench data validate data/news-mini                    # every problem at once; exit 2 on any error
  musebench data validate data/news-mini --tokenizer data/news-mini/tokenizer   # adds token counts
  musebench data show data/news-mini --split knowmem/forget_qa -n 3
  musebench data show muse-bench/MUSE-News                  # a hub dataset (needs it in the datasets cache)
"""

CORPUS_KINDS = ("news-mini", "books-mini")
SIZES = ("tiny", "small", "default")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    v = sub.add_parser(
        "validate",
        help="check a corpus directory and list every problem",
        description="Check a corpus directory and list every problem (exit 2 on any error).",
    )
    v.add_argument("path", help="corpus directory in the release layout")
    v.add_argument("--tokenizer", default=None, help="tokenizer directory: adds token counts per split")
    s = sub.add_parser(
        "show",
        help="summarise a corpus and print a few records",
        description="Summarise a corpus, say which criteria it supports, print a few records.",
    )
    s.add_argument("path", help="corpus directory, parquet folder or hub dataset name")
    s.add_argument("--split", default="raw/forget", help="split to print, e.g. knowmem/forget_qa (default raw/forget)")
    s.add_argument("-n", type=int, default=3, help="records to print (default 3)")
    g = sub.add_parser(
        "generate",
        help="write a synthetic mini corpus (news-mini or books-mini)",
        description="Write a synthetic mini MUSE corpus and its tokenizer, deterministically.",
    )
    g.add_argument("--corpus", required=True, choices=CORPUS_KINDS, help="which mini corpus")
    g.add_argument("--size", default="default", choices=SIZES, help="corpus size (default 'default')")
    add_seed(g)
    add_out(g, help="output directory of the corpus")
    g.add_argument(
        "--force",
        action="store_true",
        help="write into a directory that holds other files (they are kept; same names are replaced)",
    )


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "data_command", None)
    if action == "validate":
        return _validate(args)
    if action == "show":
        return _show(args)
    if action == "generate":
        return _generate(args)
    raise ConfigError("expected an action: generate, validate or show (see 'musebench data -h')", field="ACTION")


def _console():
    from rich.console import Console

    return Console(soft_wrap=False)


def _load_tokenizer(path: str):
    if not Path(path).is_dir():
        raise ConfigError("tokenizer directory not found", field="--tokenizer", value=path)
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, local_files_only=True)
    except Exception as exc:
        raise ConfigError(
            f"cannot load a tokenizer: {type(exc).__name__}: {exc}", field="--tokenizer", value=path
        ) from exc


def _summary_table(rows, title: str):
    from rich.table import Table

    with_tokens = any(r.tokens is not None for r in rows)
    table = Table(title=title)
    table.add_column("split")
    table.add_column("records", justify="right")
    table.add_column("characters", justify="right")
    if with_tokens:
        table.add_column("tokens", justify="right")
    for r in rows:
        cells = [r.split, f"{r.records:,}", f"{r.characters:,}"]
        if with_tokens:
            cells.append(f"{r.tokens:,}")
        table.add_row(*cells)
    return table


def _criteria_lines(supported: list[str], missing: dict[str, list[str]]) -> list[str]:
    from musebench.data.corpus import CRITERION_TITLES

    lines = []
    for crit, title in CRITERION_TITLES.items():
        if crit in supported:
            lines.append(f"  yes  {title}")
        else:
            lines.append(f"  no   {title}  (needs {', '.join(missing.get(crit, []))})")
    return lines


def _validate(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from musebench.data.validate import validate_directory

    tokenizer = _load_tokenizer(args.tokenizer) if args.tokenizer else None
    report = validate_directory(args.path, tokenizer=tokenizer)
    console = _console()
    console.print(_summary_table(report.rows, f"corpus {args.path}"))
    console.print(f"criteria supported: {', '.join(report.criteria) or 'none'}", markup=False)
    for p in report.problems:
        colour = "red" if p.severity == "error" else "yellow"
        where = escape(p.file) + (f": {escape(p.field)}" if p.field else "")
        console.print(
            f"[{colour}]{p.severity}[/{colour}]: {where}: {escape(p.message)}",
            highlight=False,
            soft_wrap=True,
        )
    verdict = "valid" if report.ok else "INVALID"
    console.print(f"{verdict}: {len(report.errors)} error(s), {len(report.warnings)} warning(s)", markup=False)
    return 0 if report.ok else 2


def _shorten(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _record_lines(record) -> list[str]:
    from musebench.data.records import QAPair, VerbMemRecord

    if isinstance(record, QAPair):
        return [f"Q: {_shorten(record.question)}", f"A: {_shorten(record.answer)}"]
    if isinstance(record, VerbMemRecord):
        return [f"prompt: {_shorten(record.prompt)}", f"gt:     {_shorten(record.gt)}"]
    return [_shorten(record)]


def _show(args: argparse.Namespace) -> int:
    from musebench.data.loaders import load_corpus
    from musebench.data.summary import describe, split_records

    if args.n < 0:
        raise ConfigError("must be >= 0", field="-n", value=args.n)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        corpus = load_corpus(args.path)
    for w in caught:
        print(f"musebench data: warning: {w.message}", file=sys.stderr)
    records = split_records(corpus, args.split)
    console = _console()
    console.print(_summary_table(describe(corpus), f"corpus '{corpus.name}' ({corpus.source})"))
    console.print(f"fingerprint {corpus.fingerprint()}", markup=False)
    console.print("criteria:", markup=False)
    for line in _criteria_lines(corpus.criteria(), corpus.missing_criteria()):
        console.print(line, markup=False)
    shown = records[: args.n]
    console.print(f"\n{args.split}: first {len(shown)} of {len(records)} record(s)", markup=False)
    for i, record in enumerate(shown):
        for j, line in enumerate(_record_lines(record)):
            console.print(f"  [{i}] {line}" if j == 0 else f"      {line}", markup=False, highlight=False)
    return 0


def _generate(args: argparse.Namespace) -> int:
    from musebench.data.loaders import load_corpus
    from musebench.data.summary import describe

    try:
        from musebench.models.mini_corpus import write_mini_corpus
    except ImportError as exc:
        if exc.name not in ("musebench.data.synthetic", "musebench.models.mini_corpus"):
            raise
        raise ConfigError(
            "the mini-corpus generator (musebench.data.synthetic) is not available in this installation",
            field="--corpus",
            value=args.corpus,
        ) from exc
    from musebench.io import kept_entries, output_dir

    with output_dir(args.out, kind="corpus", force=args.force) as out:
        write_mini_corpus(args.corpus, args.size, args.seed, out, keep=kept_entries(out))  # a user's files stay
    corpus = load_corpus(out)
    console = _console()
    console.print(_summary_table(describe(corpus), f"wrote {args.corpus} ({args.size}, seed {args.seed}) to {out}"))
    console.print(f"fingerprint {corpus.fingerprint()}; criteria: {', '.join(corpus.criteria())}", markup=False)
    return 0
